import sharp, { type ResizeOptions, type Sharp } from 'sharp';

/**
 * The one way a photo from outside becomes a photo we keep: what we accept (type by magic bytes,
 * size, pixel count), and the pipeline that makes it safe to store and show. Channels and flows
 * take their limits and their type sniffing from here, not from copies of their own.
 *
 * The pipeline decodes and re-encodes with sharp (libvips): the Exif orientation is applied to the
 * pixels (a portrait photo from a phone stays upright once its metadata is gone), the long side is
 * capped, and the output carries no metadata at all — no Exif with GPS, XMP, IPTC, PNG text chunks
 * or ICC profile (colours are converted to sRGB instead). Re-encoding also means that what reaches
 * staff phones is pixels libvips produced, never the bytes a resident's device (or an attacker) sent.
 */

export type PhotoMimeType = 'image/jpeg' | 'image/png' | 'image/webp';

/** Largest photo file we accept from any channel. */
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
/**
 * Largest image we decode (width × height, from the file's header). A 50 MP phone photo is
 * 8160 × 6120 ≈ 50 M; a 20,000 × 20,000 "decompression bomb" is 400 M and would need gigabytes.
 */
export const MAX_PHOTO_PIXELS = 60_000_000;
/** Long side of the stored photo: enough to read a meter or a crack on any phone screen. */
export const PHOTO_LONG_SIDE = 2048;
/** Long side of the thumbnail kept for case cards and the console. */
export const THUMBNAIL_LONG_SIDE = 320;

/** Why a photo was refused; each has its own answer to the resident (i18n `cases.photo_<reason>`). */
export type PhotoProblem = 'too_large' | 'not_an_image' | 'too_many_pixels' | 'broken';

/** A photo we will not keep, with the reason the resident is told. */
export class PhotoRejected extends Error {
  constructor(
    readonly reason: PhotoProblem,
    detail: string,
  ) {
    super(`photo rejected (${reason}): ${detail}`);
    this.name = 'PhotoRejected';
  }
}

export interface ProcessedPhoto {
  photo: Buffer;
  thumbnail: Buffer;
  /** Of the stored photo, upright. */
  width: number;
  height: number;
  /** Of both photo and thumbnail: the input's format is kept (a PNG screenshot stays sharp). */
  mime: PhotoMimeType;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The three formats we accept, by their magic bytes; a file name or declared content type is never trusted. */
export function detectImageType(bytes: Uint8Array): PhotoMimeType | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

const SHARP_FORMAT: Record<PhotoMimeType, 'jpeg' | 'png' | 'webp'> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp' };

/**
 * Validates and re-encodes a photo; throws PhotoRejected for anything we will not keep. Only the
 * first frame of an animated PNG/WebP is kept: a case photo is a still.
 */
export async function processPhoto(input: Uint8Array): Promise<ProcessedPhoto> {
  if (input.byteLength > MAX_PHOTO_BYTES) throw new PhotoRejected('too_large', `${input.byteLength} bytes, the limit is ${MAX_PHOTO_BYTES}`);
  const mime = detectImageType(input);
  // Checked before libvips sees the bytes: it would also read SVG, TIFF, GIF, PDF …, which we never want from a resident.
  if (!mime) throw new PhotoRejected('not_an_image', 'not a JPEG, PNG or WebP file');

  // failOn 'warning' (sharp's advice for untrusted input) refuses truncated and damaged pixel data;
  // limitInputPixels refuses bombs from the header, before any pixel is decoded.
  const decode = () => sharp(input, { failOn: 'warning', limitInputPixels: MAX_PHOTO_PIXELS, autoOrient: true });
  try {
    const header = await decode().metadata();
    if (header.format !== SHARP_FORMAT[mime]) throw new PhotoRejected('broken', `content is ${header.format}, header says ${mime}`);
    const photo = await encode(decode().resize(fit(PHOTO_LONG_SIDE)), mime).toBuffer({ resolveWithObject: true });
    const thumbnail = await encode(sharp(photo.data).resize(fit(THUMBNAIL_LONG_SIDE)), mime).toBuffer();
    return { photo: photo.data, thumbnail, width: photo.info.width, height: photo.info.height, mime };
  } catch (error) {
    if (error instanceof PhotoRejected) throw error;
    const message = error instanceof Error ? error.message : String(error);
    // sharp reports every input problem as a plain Error; only the pixel limit has its own wording.
    throw new PhotoRejected(/pixel limit/i.test(message) ? 'too_many_pixels' : 'broken', message);
  }
}

function fit(longSide: number): ResizeOptions {
  return { width: longSide, height: longSide, fit: 'inside', withoutEnlargement: true };
}

/** Re-encodes in the input's format. No withMetadata/keepMetadata: sharp then writes none. */
function encode(image: Sharp, mime: PhotoMimeType): Sharp {
  switch (mime) {
    case 'image/jpeg':
      return image.jpeg({ quality: 82, mozjpeg: true });
    case 'image/png':
      return image.png({ compressionLevel: 9, adaptiveFiltering: true });
    case 'image/webp':
      return image.webp({ quality: 82 });
  }
}
