import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { detectImageType as detectImage } from '../../src/photos/process.js';

/** A raw upload left over (its message refused, or the process died mid-way) is removed after this. */
export const UPLOAD_MAX_AGE_MS = 10 * 60_000;
const KEY = /^[a-f0-9]{32}\.(jpg|png|webp)$/;

/**
 * Raw photos from the web chat, kept only until the dialog has read them: reading one removes it
 * (the stored copy is the EXIF-stripped one in the photo store), and a sweep removes any left
 * behind. The folder is the owner's alone.
 */
export function createUploads(dir: string) {
  let made: Promise<void> | undefined;
  const ready = () => (made ??= mkdir(dir, { recursive: true, mode: 0o700 }).then(() => chmod(dir, 0o700)));
  return {
    async save(bytes: Buffer, mimeType: string): Promise<string> {
      await ready();
      const key = `${randomBytes(16).toString('hex')}.${mimeType === 'image/png' ? 'png' : mimeType === 'image/webp' ? 'webp' : 'jpg'}`;
      await writeFile(path.join(dir, key), bytes, { mode: 0o600 });
      return key;
    },
    /** The upload's bytes, removed from disk as they are read (a second read fails). */
    async take(key: string): Promise<{ bytes: Buffer; mimeType: string }> {
      if (!KEY.test(key)) throw new Error('not a web upload');
      const file = path.join(dir, key);
      const bytes = await readFile(file);
      await rm(file, { force: true });
      return { bytes, mimeType: detectImage(bytes) ?? 'application/octet-stream' };
    },
    async discard(key: string): Promise<void> {
      if (KEY.test(key)) await rm(path.join(dir, key), { force: true });
    },
    /** Removes uploads older than `maxAgeMs`; returns how many. */
    async sweep(now = Date.now(), maxAgeMs = UPLOAD_MAX_AGE_MS): Promise<number> {
      await ready();
      let removed = 0;
      for (const name of await readdir(dir)) {
        const file = path.join(dir, name);
        const info = await stat(file).catch(() => undefined);
        if (info?.isFile() && now - info.mtimeMs > maxAgeMs) {
          await rm(file, { force: true });
          removed++;
        }
      }
      return removed;
    },
  };
}

export type Uploads = ReturnType<typeof createUploads>;
