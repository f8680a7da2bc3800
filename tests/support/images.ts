/** A real JPEG carrying an Exif block with a GPS marker, as a phone would send it. */
export function jpegWithExif(): Buffer {
  const soi = Buffer.from([0xff, 0xd8]);
  const exifPayload = Buffer.concat([Buffer.from('Exif\0\0'), Buffer.from('GPS-43.7201N-127.3401E')]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), u16(exifPayload.length + 2), exifPayload]);
  // Minimal baseline frame: 1×1 grayscale, one quant table, one Huffman table pair, one scan.
  const dqt = Buffer.concat([Buffer.from([0xff, 0xdb]), u16(67), Buffer.from([0]), Buffer.alloc(64, 1)]);
  const sof = Buffer.from([0xff, 0xc0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
  const dhtDc = Buffer.from([0xff, 0xc4, 0, 20, 0x00, 1, ...Array(15).fill(0), 0]);
  const dhtAc = Buffer.from([0xff, 0xc4, 0, 20, 0x10, 1, ...Array(15).fill(0), 0]);
  const sos = Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0]);
  const scan = Buffer.from([0x00, 0x00]);
  const eoi = Buffer.from([0xff, 0xd9]);
  return Buffer.concat([soi, app1, dqt, sof, dhtDc, dhtAc, sos, scan, eoi]);
}
function u16(n: number) {
  return Buffer.from([n >> 8, n & 0xff]);
}

