import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createUploads, UPLOAD_MAX_AGE_MS } from '../../bots/web/uploads.js';
import { jpegWithExif } from '../support/images.js';

const dir = mkdtempSync(path.join(tmpdir(), 'linli-uploads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('raw web uploads', () => {
  it('are removed as they are read, so a second read fails', async () => {
    const uploads = createUploads(path.join(dir, 'a'));
    const key = await uploads.save(await jpegWithExif(), 'image/jpeg');
    expect((await uploads.take(key)).mimeType).toBe('image/jpeg');
    expect(readdirSync(path.join(dir, 'a'))).toEqual([]);
    await expect(uploads.take(key)).rejects.toThrow();
  });

  it('left behind are swept once older than the limit, younger ones stay', async () => {
    const uploads = createUploads(path.join(dir, 'b'));
    const young = await uploads.save(await jpegWithExif(), 'image/jpeg');
    const old = path.join(dir, 'b', 'leftover.jpg');
    writeFileSync(old, 'x');
    const past = (Date.now() - UPLOAD_MAX_AGE_MS - 60_000) / 1000;
    utimesSync(old, past, past);
    expect(await uploads.sweep()).toBe(1);
    expect(readdirSync(path.join(dir, 'b'))).toEqual([young]);
  });

  it('refuses keys that are not its own', async () => {
    const uploads = createUploads(path.join(dir, 'c'));
    await expect(uploads.take('../../etc/passwd')).rejects.toThrow('not a web upload');
  });
});
