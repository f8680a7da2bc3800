import sharp from 'sharp';

/** Where the test photos claim to be taken: a GPS block as a phone camera writes it. */
export const GPS_EXIF = {
  GPSLatitudeRef: 'N',
  GPSLatitude: '43/1 43/1 1224/100',
  GPSLongitudeRef: 'E',
  GPSLongitude: '127/1 20/1 2424/100',
};
/** A marker string in the Exif block, to search for in stored bytes. */
export const CAMERA_MODEL = 'LinliPhone 12 Pro';

/**
 * A real photo as a phone sends it: `width`×`height` stored pixels, the left half red and the
 * right half blue (so a rotation is visible), Exif orientation `orientation`, camera make/model and
 * a GPS block.
 */
export async function phonePhoto(
  opts: { width?: number; height?: number; orientation?: number; format?: 'jpeg' | 'webp' } = {},
): Promise<Buffer> {
  const { width = 300, height = 200, orientation = 1, format = 'jpeg' } = opts;
  const half = Math.floor(width / 2);
  const image = sharp({ create: { width, height, channels: 3, background: { r: 230, g: 0, b: 0 } } }).composite([
    { input: { create: { width: width - half, height, channels: 3, background: { r: 0, g: 0, b: 230 } } }, left: half, top: 0 },
  ]);
  return image
    .withExif({ IFD0: { Make: 'Linli', Model: CAMERA_MODEL }, IFD3: GPS_EXIF })
    .withMetadata({ orientation })
    [format]({ quality: 90 })
    .toBuffer();
}

/** A real JPEG carrying Exif with a GPS block, as a phone would send it (case flows and e2e tests). */
export function jpegWithExif(): Promise<Buffer> {
  return phonePhoto();
}
