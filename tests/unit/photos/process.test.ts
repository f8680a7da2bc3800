import sharp from 'sharp';
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  detectImageType,
  MAX_PHOTO_BYTES,
  PHOTO_LONG_SIDE,
  PhotoRejected,
  processPhoto,
  THUMBNAIL_LONG_SIDE,
  type PhotoProblem,
} from '../../../src/photos/process.js';
import { CAMERA_MODEL, phonePhoto } from '../../support/images.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Inserts PNG chunks right after IHDR (where an editor's text chunks sit). */
function withChunks(png: Buffer, ...chunks: Buffer[]): Buffer {
  const afterIhdr = 8 + 8 + 13 + 4;
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
}

/**
 * A real decompression bomb: a valid 1-bit PNG of side × side pixels whose all-black rows deflate
 * to ~50 KB at 20,000 × 20,000 and would decode to 400 M pixels. Made with zlib, because encoding
 * 400 M pixels with sharp takes a quarter of a minute on the test machine.
 */
function bomb(side = 20_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth 1, colour type 0 (grey)
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side);
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

async function rejection(bytes: Buffer): Promise<PhotoProblem> {
  const error = await processPhoto(bytes).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PhotoRejected);
  return (error as PhotoRejected).reason;
}

/** The RGB of one pixel of a decoded image. */
async function pixel(image: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

const isRed = ([r, g, b]: number[]) => r! > 180 && g! < 60 && b! < 60;
const isBlue = ([r, g, b]: number[]) => b! > 180 && r! < 60 && g! < 60;

describe('processPhoto', () => {
  it('turns a portrait phone JPEG (orientation 6, GPS) upright and strips every metadata block', async () => {
    // Stored 300×200 landscape with the red half on the left; orientation 6 means "rotate 90° clockwise to view".
    const input = await phonePhoto({ width: 300, height: 200, orientation: 6 });
    const before = await sharp(input).metadata();
    expect(before.orientation).toBe(6);
    expect(before.exif?.includes(Buffer.from([0x25, 0x88]))).toBe(true); // the GPS IFD pointer (tag 0x8825, little-endian)
    expect(input.includes(Buffer.from(CAMERA_MODEL))).toBe(true);

    const out = await processPhoto(input);
    expect(out).toMatchObject({ mime: 'image/jpeg', width: 200, height: 300 });
    const after = await sharp(out.photo).metadata();
    expect([after.format, after.width, after.height]).toEqual(['jpeg', 200, 300]);
    expect(after.orientation).toBeUndefined();
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(out.photo.includes(Buffer.from(CAMERA_MODEL))).toBe(false);
    expect(out.photo.includes(Buffer.from('Exif\0'))).toBe(false);
    // Rotated clockwise, the left (red) half is now on top and the right (blue) half at the bottom.
    expect(isRed(await pixel(out.photo, 100, 20))).toBe(true);
    expect(isBlue(await pixel(out.photo, 100, 280))).toBe(true);
  });

  it('drops the text chunks of a PNG and keeps it a PNG with its transparency', async () => {
    const plain = await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 0, g: 120, b: 0, alpha: 0.5 } } }).png().toBuffer();
    const input = withChunks(
      plain,
      chunk('tEXt', Buffer.from('Location\0GPSLatitude=43.7201N', 'latin1')),
      chunk('iTXt', Buffer.from('Author\0\0\0\0\0Resident Wang 13800001234', 'utf8')),
    );
    expect((await sharp(input).metadata()).comments?.map((c) => c.keyword)).toEqual(['Location', 'Author']);

    const out = await processPhoto(input);
    expect(out).toMatchObject({ mime: 'image/png', width: 40, height: 30 });
    const after = await sharp(out.photo).metadata();
    expect(after.format).toBe('png');
    expect(after.comments).toBeUndefined();
    expect(after.hasAlpha).toBe(true);
    expect(out.photo.includes(Buffer.from('GPSLatitude'))).toBe(false);
    expect(out.photo.includes(Buffer.from('13800001234'))).toBe(false);
  });

  it('re-encodes a WebP without its Exif', async () => {
    const input = await phonePhoto({ width: 64, height: 48, format: 'webp' });
    expect((await sharp(input).metadata()).exif).toBeDefined();
    const out = await processPhoto(input);
    expect(out).toMatchObject({ mime: 'image/webp', width: 64, height: 48 });
    const after = await sharp(out.photo).metadata();
    expect(after.format).toBe('webp');
    expect(after.exif).toBeUndefined();
    expect(out.photo.includes(Buffer.from(CAMERA_MODEL))).toBe(false);
  });

  it('caps the long side and keeps a thumbnail in the same format', async () => {
    const out = await processPhoto(await phonePhoto({ width: 3000, height: 1000 }));
    expect([out.width, out.height]).toEqual([PHOTO_LONG_SIDE, 683]); // 1000 × 2048 / 3000 = 682.7
    const thumb = await sharp(out.thumbnail).metadata();
    // 683 × 320 / 2048 = 106.7: sharp keeps the aspect ratio and rounds the short side down.
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['jpeg', THUMBNAIL_LONG_SIDE, 106]);
    expect(thumb.exif).toBeUndefined();
    // A small photo is not enlarged, and neither is its thumbnail.
    const small = await processPhoto(await phonePhoto({ width: 300, height: 200 }));
    expect([small.width, small.height]).toEqual([300, 200]);
    expect((await sharp(small.thumbnail).metadata()).width).toBe(300);
  });

  it('refuses a truncated file as broken', async () => {
    const jpeg = await phonePhoto({ width: 400, height: 300 });
    expect(await rejection(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))).toBe('broken');
    const png = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } }).png().toBuffer();
    expect(await rejection(png.subarray(0, png.length - 30))).toBe('broken');
  });

  it('refuses a 20,000 × 20,000 decompression bomb from its header', async () => {
    const input = bomb();
    expect(input.length).toBeLessThan(100_000);
    expect(await sharp(input, { limitInputPixels: false }).metadata()).toMatchObject({ format: 'png', width: 20_000, height: 20_000 });
    expect(await rejection(input)).toBe('too_many_pixels');
  });

  it('refuses what is not a JPEG, PNG or WebP, whatever libvips could read', async () => {
    expect(await rejection(Buffer.from('#!/bin/sh\nrm -rf /\n'))).toBe('not_an_image');
    expect(await rejection(Buffer.alloc(0))).toBe('not_an_image');
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).gif().toBuffer();
    expect(await rejection(gif)).toBe('not_an_image');
    expect(await rejection(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'))).toBe('not_an_image');
    // A JPEG's magic bytes in front of something else: sniffed as JPEG, refused by the decoder.
    expect(await rejection(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('not really')]))).toBe('broken');
  });

  it('refuses a file over the size limit before decoding it', async () => {
    expect(await rejection(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(MAX_PHOTO_BYTES)]))).toBe('too_large');
  });
});

describe('detectImageType', () => {
  it('recognises JPEG, PNG and WebP by their magic bytes only', async () => {
    expect(detectImageType(await phonePhoto())).toBe('image/jpeg');
    expect(detectImageType(await phonePhoto({ format: 'webp' }))).toBe('image/webp');
    expect(detectImageType(bomb(8))).toBe('image/png');
    expect(detectImageType(Buffer.from('GIF89a'))).toBeUndefined();
    expect(detectImageType(Buffer.from('RIFF\0\0\0\0WAVEfmt '))).toBeUndefined();
    expect(detectImageType(Buffer.alloc(0))).toBeUndefined();
  });
});
