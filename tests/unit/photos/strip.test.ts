import { crc32 as zlibCrc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectImageType, InvalidImage, stripMetadata } from '../../../src/photos/strip.js';

/*
 * Real image bytes built here, byte by byte. The JPEG is a complete baseline image (24x8 grey, three
 * blocks, one of them with a stuffed 0xFF byte in its scan data), the PNG a 2x2 RGBA image deflated
 * with zlib, and the WebP carries a lossless bitstream Chromium encoded (2x2 RGBA). All three were
 * checked to decode in Chromium before and after stripping, to the same pixels.
 */

const GPS = 'GPSLatitude=39.9042N;GPSLongitude=116.4074E';
const ascii = (s: string) => Buffer.from(s, 'latin1');
const contains = (haystack: Buffer, needle: string) => haystack.includes(ascii(needle));

// ---------------------------------------------------------------------------------------------
// JPEG

function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0xff;
  head[1] = marker;
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);
const APP0_JFIF = segment(0xe0, Buffer.concat([ascii('JFIF\0'), Buffer.from([1, 1, 0, 0, 1, 0, 1, 0, 0])]));
const APP1_EXIF = segment(0xe1, Buffer.concat([ascii('Exif\0\0'), ascii('MM\0*\0\0\0\x08'), ascii(GPS)]));
const APP1_XMP = segment(0xe1, ascii(`http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description exif:${GPS}/></x:xmpmeta>`));
const APP2_ICC = segment(0xe2, Buffer.concat([ascii('ICC_PROFILE\0'), Buffer.from([1, 1]), ascii('fake-profile-bytes')]));
const APP2_MPF = segment(0xe2, Buffer.concat([ascii('MPF\0'), ascii('MM\0*'), ascii('second-image-offsets')]));
const APP13_IPTC = segment(0xed, ascii('Photoshop 3.0\0 8BIM caption: Flat 302, Happiness Community'));
const APP14_ADOBE = segment(0xee, Buffer.concat([ascii('Adobe'), Buffer.from([0, 100, 0, 0, 0, 0, 1])]));
const COM_SEGMENT = segment(0xfe, ascii('taken at home by Zhang Wei'));
const DQT = segment(0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 1)]));
// Baseline frame: 8 bits, 8 rows, 24 columns, one component (id 1, 1x1 sampling, table 0).
const SOF0 = segment(0xc0, Buffer.from([8, 0, 8, 0, 24, 1, 1, 0x11, 0]));
// DC table: '00' -> category 0, '01' -> category 8. AC table: '0' -> EOB.
const DHT_DC = segment(0xc4, Buffer.concat([Buffer.from([0x00, 0, 2]), Buffer.alloc(14), Buffer.from([0, 8])]));
const DHT_AC = segment(0xc4, Buffer.concat([Buffer.from([0x10, 1]), Buffer.alloc(15), Buffer.from([0x00])]));
const SOS_HEADER = segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0]));
// Block 1: '00' '0'; block 2: '00' '0'; block 3: '01' + diff 255 as '11111111' + '0', padded with 1s.
// The all-ones byte must be followed by a stuffed 0x00, which the stripper must treat as data.
const SCAN_DATA = Buffer.from([0x01, 0xff, 0x00, 0x7f]);

function jpeg(...middle: Buffer[]): Buffer {
  return Buffer.concat([SOI, ...middle, SOS_HEADER, SCAN_DATA, EOI]);
}

describe('JPEG', () => {
  const original = jpeg(APP0_JFIF, APP1_EXIF, APP1_XMP, APP2_ICC, APP2_MPF, COM_SEGMENT, APP13_IPTC, APP14_ADOBE, DQT, SOF0, DHT_DC, DHT_AC);

  it('drops Exif, XMP, MPF, IPTC and comments and keeps every other byte as it was', () => {
    expect(contains(original, 'GPSLatitude')).toBe(true);
    const { bytes, mimeType } = stripMetadata(original);
    expect(mimeType).toBe('image/jpeg');
    expect(contains(bytes, 'GPSLatitude')).toBe(false);
    expect(contains(bytes, 'Exif')).toBe(false);
    expect(contains(bytes, 'xmpmeta')).toBe(false);
    expect(contains(bytes, 'MPF')).toBe(false);
    expect(contains(bytes, 'Zhang Wei')).toBe(false);
    expect(contains(bytes, 'Happiness')).toBe(false);
    // Exactly the kept segments, in order and byte for byte, then the scan unchanged.
    expect(bytes.equals(Buffer.concat([SOI, APP0_JFIF, APP2_ICC, APP14_ADOBE, DQT, SOF0, DHT_DC, DHT_AC, SOS_HEADER, SCAN_DATA, EOI]))).toBe(true);
    expect(bytes.subarray(0, 2)).toEqual(SOI);
    expect(bytes.subarray(-2)).toEqual(EOI);
  });

  it('is idempotent and leaves a clean image untouched', () => {
    const once = stripMetadata(original).bytes;
    expect(stripMetadata(once).bytes.equals(once)).toBe(true);
    const clean = jpeg(APP0_JFIF, DQT, SOF0, DHT_DC, DHT_AC);
    expect(stripMetadata(clean).bytes.equals(clean)).toBe(true);
  });

  it('copies restart markers and fill bytes inside the scan and drops whatever follows EOI', () => {
    const dri = segment(0xdd, Buffer.from([0, 1]));
    const scan = Buffer.from([0x3f, 0xff, 0xd0, 0x3f, 0xff, 0xff, 0xd1, 0x3f, 0xff, 0x00, 0x12]);
    const trailer = Buffer.concat([ascii('\0\0\0\x18ftypmp42'), ascii(GPS)]); // a motion photo's video
    const input = Buffer.concat([SOI, APP1_EXIF, DQT, SOF0, DHT_DC, DHT_AC, dri, SOS_HEADER, scan, EOI, trailer]);
    const { bytes } = stripMetadata(input);
    expect(bytes.equals(Buffer.concat([SOI, DQT, SOF0, DHT_DC, DHT_AC, dri, SOS_HEADER, scan, EOI]))).toBe(true);
    expect(contains(bytes, 'GPSLatitude')).toBe(false);
  });

  it('strips segments between the scans of a progressive JPEG and keeps the tables there', () => {
    const sof2 = segment(0xc2, Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0]));
    const scan1 = Buffer.from([0x12, 0x34]);
    const scan2 = Buffer.from([0x56]);
    const input = Buffer.concat([SOI, DQT, sof2, DHT_DC, SOS_HEADER, scan1, COM_SEGMENT, DHT_AC, SOS_HEADER, scan2, EOI]);
    expect(stripMetadata(input).bytes.equals(Buffer.concat([SOI, DQT, sof2, DHT_DC, SOS_HEADER, scan1, DHT_AC, SOS_HEADER, scan2, EOI]))).toBe(true);
  });

  it('drops APP0 and APP14 payloads other than JFIF and Adobe (e.g. a JFXX thumbnail)', () => {
    const jfxx = segment(0xe0, Buffer.concat([ascii('JFXX\0'), Buffer.from([0x10]), ascii('thumbnail')]));
    const app14 = segment(0xee, ascii('Ducky-ish'));
    const { bytes } = stripMetadata(jpeg(APP0_JFIF, jfxx, app14, DQT, SOF0, DHT_DC, DHT_AC));
    expect(bytes.equals(jpeg(APP0_JFIF, DQT, SOF0, DHT_DC, DHT_AC))).toBe(true);
  });

  it('rejects truncated and malformed JPEGs', () => {
    const reject = (b: Buffer) => expect(() => stripMetadata(b)).toThrow(InvalidImage);
    reject(original.subarray(0, original.length - 2)); // no EOI
    reject(original.subarray(0, original.length - 4)); // cut inside the scan
    reject(original.subarray(0, 30)); // cut inside the Exif segment
    reject(original.subarray(0, 3));
    reject(Buffer.concat([SOI, Buffer.from([0xff, 0xe1, 0x00, 0x01])])); // length below 2
    reject(Buffer.concat([SOI, APP0_JFIF, ascii('garbage'), DQT])); // no marker where one must be
    reject(Buffer.concat([SOI, DQT, SOF0, EOI])); // no scan
    reject(Buffer.concat([SOI, DQT, SOS_HEADER, SCAN_DATA, EOI])); // scan before a frame header
  });
});

// ---------------------------------------------------------------------------------------------
// PNG

function chunk(type: string, data: Buffer, crc?: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc ?? zlibCrc32(Buffer.concat([ascii(type), data])), 0);
  return Buffer.concat([head, data, tail]);
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IHDR = (() => {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(2, 0); // width
  d.writeUInt32BE(2, 4); // height
  d[8] = 8; // bit depth
  d[9] = 6; // RGBA
  return chunk('IHDR', d);
})();
// Two rows, each: filter byte 0 and two RGBA pixels.
const IDAT = chunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 0, 255, 255, 255, 255, 255, 128])));
const IEND = chunk('IEND', Buffer.alloc(0));
const GAMA = chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f]));
const PHYS = chunk('pHYs', Buffer.from([0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]));
const TEXT = chunk('tEXt', ascii(`Comment\0${GPS}`));
const ITXT = chunk('iTXt', Buffer.concat([ascii('XML:com.adobe.xmp\0\0\0\0\0'), ascii(`<x:xmpmeta>${GPS}</x:xmpmeta>`)]));
const ZTXT = chunk('zTXt', Buffer.concat([ascii('Author\0\0'), deflateSync(ascii('Zhang Wei'))]));
const TIME = chunk('tIME', Buffer.from([0x07, 0xe8, 5, 17, 8, 30, 0]));
const EXIF = chunk('eXIf', Buffer.concat([ascii('MM\0*\0\0\0\x08'), ascii(GPS)]));
const PRIVATE = chunk('prVt', ascii(`editor-history:${GPS}`));

function pngChunks(png: Buffer): { type: string; crcValid: boolean }[] {
  const chunks: { type: string; crcValid: boolean }[] = [];
  for (let pos = 8; pos < png.length; ) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const crcValid = zlibCrc32(png.subarray(pos + 4, pos + 8 + length)) === png.readUInt32BE(pos + 8 + length);
    chunks.push({ type, crcValid });
    pos += 12 + length;
  }
  return chunks;
}

describe('PNG', () => {
  const original = Buffer.concat([PNG_SIG, IHDR, GAMA, TEXT, ITXT, ZTXT, TIME, EXIF, PRIVATE, PHYS, IDAT, IEND]);

  it('drops eXIf, text and time chunks and keeps the rest with valid CRCs', () => {
    expect(contains(original, 'GPSLatitude')).toBe(true);
    const { bytes, mimeType } = stripMetadata(original);
    expect(mimeType).toBe('image/png');
    expect(contains(bytes, 'GPSLatitude')).toBe(false);
    expect(pngChunks(bytes)).toEqual(['IHDR', 'gAMA', 'pHYs', 'IDAT', 'IEND'].map((type) => ({ type, crcValid: true })));
    expect(bytes.equals(Buffer.concat([PNG_SIG, IHDR, GAMA, PHYS, IDAT, IEND]))).toBe(true);
  });

  it('drops a damaged ancillary chunk and anything after IEND', () => {
    const damaged = chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f]), 0x12345678);
    const input = Buffer.concat([PNG_SIG, IHDR, damaged, IDAT, IEND, ascii(GPS)]);
    expect(stripMetadata(input).bytes.equals(Buffer.concat([PNG_SIG, IHDR, IDAT, IEND]))).toBe(true);
  });

  it('rejects a bad signature, a damaged critical chunk, truncation and a missing IHDR or IDAT', () => {
    const reject = (b: Buffer) => expect(() => stripMetadata(b)).toThrow(InvalidImage);
    const badSig = Buffer.from(original);
    badSig[4] = 0x0a; // "\x89PNG\n..." as after a text-mode transfer
    reject(badSig);
    reject(Buffer.concat([PNG_SIG, IHDR, chunk('IDAT', Buffer.from([1, 2, 3]), 0), IEND]));
    reject(original.subarray(0, original.length - 12)); // no IEND
    reject(original.subarray(0, original.length - 20)); // cut inside IDAT
    reject(Buffer.concat([PNG_SIG, GAMA, IHDR, IDAT, IEND]));
    reject(Buffer.concat([PNG_SIG, IHDR, IEND]));
  });
});

// ---------------------------------------------------------------------------------------------
// WebP

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function riff(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat(chunks);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length + 4, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, body]);
}

// Lossless 2x2 RGBA bitstream from Chromium's canvas.toDataURL('image/webp', 1). 33 bytes: padded.
const VP8L = riffChunk('VP8L', Buffer.from('LwFAABAfsP8CgoL/oxMQFPk/moCg6DnTo7cWwC5E9D8C', 'base64'));
const ICC = 0x20, ALPHA = 0x10, EXIF_FLAG = 0x08, XMP_FLAG = 0x04;
const vp8x = (flags: number) => riffChunk('VP8X', Buffer.from([flags, 0, 0, 0, 1, 0, 0, 1, 0, 0])); // canvas 2x2
const ICCP = riffChunk('ICCP', ascii('fake-profile'));
const WEBP_EXIF = riffChunk('EXIF', Buffer.concat([ascii('MM\0*\0\0\0\x08'), ascii(GPS), ascii('!')])); // odd size
const WEBP_XMP = riffChunk('XMP ', ascii(`<x:xmpmeta>${GPS}</x:xmpmeta>`));

describe('WebP', () => {
  const original = riff(vp8x(ICC | ALPHA | EXIF_FLAG | XMP_FLAG), ICCP, VP8L, WEBP_EXIF, WEBP_XMP);

  it('drops EXIF and XMP, clears their VP8X flags and rewrites the RIFF size', () => {
    expect(contains(original, 'GPSLatitude')).toBe(true);
    const { bytes, mimeType } = stripMetadata(original);
    expect(mimeType).toBe('image/webp');
    expect(contains(bytes, 'GPSLatitude')).toBe(false);
    expect(bytes.readUInt32LE(4)).toBe(bytes.length - 8);
    expect(bytes[20]).toBe(ICC | ALPHA); // the VP8X flags byte: 12 (RIFF header) + 8 (chunk header)
    expect(bytes.equals(riff(vp8x(ICC | ALPHA), ICCP, VP8L))).toBe(true);
  });

  it('leaves a simple (VP8L only) WebP as it was', () => {
    const simple = riff(VP8L);
    expect(stripMetadata(simple).bytes.equals(simple)).toBe(true);
  });

  it('rejects truncation, chunks that overrun the RIFF data and a WebP without image data', () => {
    const reject = (b: Buffer) => expect(() => stripMetadata(b)).toThrow(InvalidImage);
    reject(original.subarray(0, original.length - 10)); // shorter than its RIFF size
    const overrun = Buffer.from(original);
    overrun.writeUInt32LE(0x7fff, 12 + 4); // VP8X claims 32 KiB
    reject(overrun);
    reject(riff(vp8x(EXIF_FLAG), WEBP_EXIF));
    reject(riff(VP8L, vp8x(0))); // VP8X must come first
  });
});

// ---------------------------------------------------------------------------------------------

describe('detectImageType and stripMetadata dispatch', () => {
  it('recognises the three formats by magic bytes only', () => {
    expect(detectImageType(jpeg(DQT, SOF0, DHT_DC, DHT_AC))).toBe('image/jpeg');
    expect(detectImageType(Buffer.concat([PNG_SIG, IHDR]))).toBe('image/png');
    expect(detectImageType(riff(VP8L))).toBe('image/webp');
    expect(detectImageType(ascii('GIF89a'))).toBeUndefined();
    expect(detectImageType(ascii('RIFF\0\0\0\0WAVEfmt '))).toBeUndefined();
    expect(detectImageType(Buffer.alloc(0))).toBeUndefined();
  });

  it('throws InvalidImage for anything that is not a JPEG, PNG or WebP', () => {
    for (const garbage of [Buffer.alloc(0), ascii('hello, not a photo'), ascii('GIF89a\x01\0\x01\0'), ascii('%PDF-1.7\n'), Buffer.from([0xff, 0xd8])]) {
      expect(() => stripMetadata(garbage)).toThrow(InvalidImage);
    }
  });
});
