/**
 * Removes metadata (Exif with GPS, XMP, IPTC, comments, text chunks, timestamps) from photos that
 * residents send, so a photo of a broken lift does not tell staff — or anyone the photo is later
 * forwarded to — where the resident lives, what phone they own or when exactly they took it.
 *
 * The image itself is never re-encoded: we only walk the container format and copy the parts a
 * decoder needs byte for byte. That keeps the pixels identical and needs no image library.
 * Pure functions, no dependencies.
 */

export type PhotoMimeType = 'image/jpeg' | 'image/png' | 'image/webp';

/** Not an image we accept, or an image whose structure is broken (truncated, bad lengths, bad CRC). */
export class InvalidImage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidImage';
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Recognises the three formats we accept by their magic bytes; the declared mime type is never trusted. */
export function detectImageType(bytes: Uint8Array): PhotoMimeType | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

/** Strips metadata from a JPEG, PNG or WebP; throws InvalidImage for anything else or for a broken file. */
export function stripMetadata(bytes: Uint8Array): { bytes: Buffer; mimeType: PhotoMimeType } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mimeType = detectImageType(b);
  switch (mimeType) {
    case 'image/jpeg':
      return { bytes: stripJpeg(b), mimeType };
    case 'image/png':
      return { bytes: stripPng(b), mimeType };
    case 'image/webp':
      return { bytes: stripWebp(b), mimeType };
    default:
      throw new InvalidImage('not a JPEG, PNG or WebP image');
  }
}

// ---------------------------------------------------------------------------------------------
// JPEG

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const COM = 0xfe;
const APP0 = 0xe0;
const APP2 = 0xe2;
const APP14 = 0xee;
const APP15 = 0xef;

/** Whether the segment payload [at, end) begins with the given identifier. */
function startsWith(b: Buffer, at: number, end: number, ascii: string): boolean {
  return end >= at + ascii.length && b.toString('latin1', at, at + ascii.length) === ascii;
}

/**
 * Walks the marker segments of a JPEG and keeps only what decoding needs.
 *
 * Kept application segments:
 * - APP0 "JFIF": declares the YCbCr colour space and pixel density; some decoders look for it.
 * - APP2 "ICC_PROFILE": the colour profile. Phones shoot in Display P3; without the profile the
 *   photo is shown with the wrong (washed-out or oversaturated) colours. It holds no personal data.
 * - APP14 "Adobe": its transform flag tells the decoder whether 3/4-component data is YCbCr/YCCK or
 *   RGB/CMYK; dropping it turns CMYK scans into a negative-looking image.
 * Dropped: APP1 (Exif incl. GPS and the embedded thumbnail, XMP), the other APP2 segments (MPF,
 * FlashPix), APP3..APP13 (APP13 is Photoshop/IPTC: captions, names, places), APP15, other APP0/APP14
 * payloads (e.g. JFXX thumbnails, which show the uncropped original) and COM comments.
 *
 * Everything else before the first scan (DQT, SOFn, DHT, DRI, ...) is copied unchanged, and the scans
 * themselves (SOS header and entropy-coded data, including restart markers) are copied byte for byte.
 * Anything after EOI is dropped: phones append there the video of a "motion photo" or, with MPF,
 * further full JPEGs that carry their own Exif.
 */
function stripJpeg(b: Buffer): Buffer {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) throw new InvalidImage('JPEG: missing SOI marker');
  const out: Buffer[] = [b.subarray(0, 2)];
  let pos = 2;
  let sawFrame = false;
  let sawScan = false;

  for (;;) {
    if (pos >= b.length) throw new InvalidImage('JPEG: truncated (no EOI marker)');
    if (b[pos] !== 0xff) throw new InvalidImage(`JPEG: expected a marker at offset ${pos}`);
    // Any number of 0xFF fill bytes may precede a marker; they carry nothing and are not copied.
    while (pos < b.length && b[pos] === 0xff) pos++;
    if (pos >= b.length) throw new InvalidImage('JPEG: truncated (no EOI marker)');
    const marker = b[pos]!;
    const markerStart = pos - 1;
    pos++;

    if (marker === EOI) {
      if (!sawScan) throw new InvalidImage('JPEG: no image data (EOI before any scan)');
      out.push(Buffer.from([0xff, EOI]));
      return Buffer.concat(out);
    }
    if (marker === SOI || marker === 0x00) throw new InvalidImage(`JPEG: unexpected marker 0x${hex(marker)} at offset ${markerStart}`);
    // TEM and RSTn stand alone (no length field).
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      out.push(b.subarray(markerStart, pos));
      continue;
    }

    if (pos + 2 > b.length) throw new InvalidImage('JPEG: truncated segment length');
    const length = b.readUInt16BE(pos);
    if (length < 2) throw new InvalidImage(`JPEG: invalid segment length ${length} at offset ${markerStart}`);
    const segmentEnd = pos + length;
    if (segmentEnd > b.length) throw new InvalidImage(`JPEG: segment at offset ${markerStart} runs past the end of the file`);
    const payload = pos + 2;

    if (marker === SOS) {
      if (!sawFrame) throw new InvalidImage('JPEG: scan before any frame header (SOF)');
      sawScan = true;
      const dataEnd = endOfEntropyCodedData(b, segmentEnd);
      out.push(b.subarray(markerStart, dataEnd));
      pos = dataEnd;
      continue;
    }

    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) sawFrame = true;

    if (keepJpegSegment(marker, b, payload, segmentEnd)) out.push(b.subarray(markerStart, segmentEnd));
    pos = segmentEnd;
  }
}

function keepJpegSegment(marker: number, b: Buffer, payload: number, end: number): boolean {
  if (marker === COM) return false;
  if (marker < APP0 || marker > APP15) return true; // tables, frame headers, DRI, ...
  if (marker === APP0) return startsWith(b, payload, end, 'JFIF\0');
  if (marker === APP2) return startsWith(b, payload, end, 'ICC_PROFILE\0');
  if (marker === APP14) return startsWith(b, payload, end, 'Adobe');
  return false;
}

/**
 * Returns the offset of the first marker after the entropy-coded data that follows an SOS header.
 * Inside that data a 0xFF byte is followed by 0x00 (a stuffed data byte), by RSTn, or by more 0xFF
 * fill; anything else is a real marker (EOI, or DHT/SOS/... between progressive scans).
 */
function endOfEntropyCodedData(b: Buffer, from: number): number {
  let i = from;
  for (;;) {
    const ff = b.indexOf(0xff, i);
    if (ff < 0 || ff + 1 >= b.length) throw new InvalidImage('JPEG: truncated scan data (no EOI marker)');
    const next = b[ff + 1]!;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      i = ff + 2;
      continue;
    }
    if (next === 0xff) {
      i = ff + 1;
      continue;
    }
    return ff;
  }
}

// ---------------------------------------------------------------------------------------------
// PNG

/** Chunks that carry metadata and nothing a decoder needs. */
const PNG_METADATA_CHUNKS = new Set(['eXIf', 'tEXt', 'iTXt', 'zTXt', 'tIME']);

/**
 * Registered ancillary chunks that affect how the image is shown (colour, transparency, gamma,
 * physical size, APNG animation). Other ancillary chunks are dropped too: by the PNG rules a
 * decoder may ignore them, and private ones are where editors put metadata we have never heard of
 * (e.g. C2PA "caBX" content credentials, which can hold a location).
 */
const PNG_RENDERING_CHUNKS = new Set([
  'PLTE', 'tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'cICP', 'mDCV', 'mDCv', 'cLLI', 'cLLi', 'sBIT', 'bKGD', 'hIST', 'sPLT',
  'pHYs', 'oFFs', 'pCAL', 'sCAL', 'sTER', 'acTL', 'fcTL', 'fdAT',
]);

/**
 * Walks the chunks of a PNG and drops the metadata ones; kept chunks are copied unchanged, CRC
 * included. Critical chunks (upper-case first letter: IHDR, PLTE, IDAT, IEND and any unknown one)
 * are always kept: a decoder cannot skip them. Anything after IEND is dropped.
 */
function stripPng(b: Buffer): Buffer {
  if (b.length < 8 || !b.subarray(0, 8).equals(PNG_SIGNATURE)) throw new InvalidImage('PNG: bad signature');
  const out: Buffer[] = [b.subarray(0, 8)];
  let pos = 8;
  let first = true;
  let sawData = false;

  for (;;) {
    if (pos + 12 > b.length) throw new InvalidImage('PNG: truncated (no IEND chunk)');
    const length = b.readUInt32BE(pos);
    if (length > 0x7fffffff) throw new InvalidImage(`PNG: invalid chunk length at offset ${pos}`);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new InvalidImage(`PNG: invalid chunk type at offset ${pos}`);
    const end = pos + 12 + length;
    if (end > b.length) throw new InvalidImage(`PNG: chunk ${type} runs past the end of the file`);
    if (first && type !== 'IHDR') throw new InvalidImage('PNG: first chunk is not IHDR');
    first = false;

    const critical = type.charCodeAt(0) < 0x61; // upper case
    const crcOk = crc32(b.subarray(pos + 4, pos + 8 + length)) === b.readUInt32BE(pos + 8 + length);
    if (critical && !crcOk) throw new InvalidImage(`PNG: corrupt ${type} chunk (CRC mismatch)`);
    if (type === 'IDAT') sawData = true;

    // A damaged ancillary chunk is dropped as libpng does; the listed metadata chunks always are.
    const keep = critical || (crcOk && !PNG_METADATA_CHUNKS.has(type) && PNG_RENDERING_CHUNKS.has(type));
    if (keep) out.push(b.subarray(pos, end));
    pos = end;

    if (type === 'IEND') {
      if (!sawData) throw new InvalidImage('PNG: no image data (IDAT)');
      return Buffer.concat(out);
    }
  }
}

let crcTable: Uint32Array | undefined;

/** CRC-32 as PNG (and zlib) define it: polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// WebP

/** Chunks of the WebP container a decoder uses; EXIF, "XMP " and unknown chunks are dropped. */
const WEBP_KEPT_CHUNKS = new Set(['VP8X', 'ICCP', 'ANIM', 'ANMF', 'ALPH', 'VP8 ', 'VP8L']);
const WEBP_IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'ANMF']);
const VP8X_FLAG_EXIF = 0x08;
const VP8X_FLAG_XMP = 0x04;

/**
 * Walks the RIFF chunks of a WebP, drops EXIF and XMP (and any chunk the format does not define),
 * clears the EXIF and XMP flags in VP8X so the header does not announce chunks that are gone, and
 * rewrites the RIFF size. The ICC profile (ICCP) is kept for the same reason as in JPEG.
 * Anything after the RIFF payload is dropped.
 */
function stripWebp(b: Buffer): Buffer {
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP') {
    throw new InvalidImage('WebP: bad RIFF header');
  }
  const riffSize = b.readUInt32LE(4);
  if (riffSize < 4 || riffSize % 2 !== 0) throw new InvalidImage(`WebP: invalid RIFF size ${riffSize}`);
  const riffEnd = 8 + riffSize;
  if (riffEnd > b.length) throw new InvalidImage('WebP: truncated (file shorter than its RIFF size)');

  const chunks: Buffer[] = [];
  let pos = 12;
  let sawImage = false;
  let index = 0;
  while (pos < riffEnd) {
    if (pos + 8 > riffEnd) throw new InvalidImage(`WebP: truncated chunk header at offset ${pos}`);
    const fourcc = b.toString('latin1', pos, pos + 4);
    const size = b.readUInt32LE(pos + 4);
    const padded = size + (size & 1);
    const end = pos + 8 + padded;
    if (end > riffEnd) throw new InvalidImage(`WebP: chunk "${fourcc}" runs past the end of the RIFF data`);
    if (fourcc === 'VP8X' && index !== 0) throw new InvalidImage('WebP: VP8X is not the first chunk');

    if (WEBP_IMAGE_CHUNKS.has(fourcc)) sawImage = true;
    if (fourcc === 'VP8X') {
      if (size < 10) throw new InvalidImage('WebP: VP8X chunk too short');
      const copy = Buffer.from(b.subarray(pos, end));
      copy[8] = copy[8]! & ~(VP8X_FLAG_EXIF | VP8X_FLAG_XMP) & 0xff;
      chunks.push(copy);
    } else if (WEBP_KEPT_CHUNKS.has(fourcc)) {
      chunks.push(b.subarray(pos, end));
    }
    pos = end;
    index++;
  }
  if (!sawImage) throw new InvalidImage('WebP: no image data (VP8, VP8L or ANMF chunk)');

  const body = Buffer.concat(chunks);
  const header = Buffer.alloc(12);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(4 + body.length, 4);
  header.write('WEBP', 8, 'latin1');
  return Buffer.concat([header, body]);
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
