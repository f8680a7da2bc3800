import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { detectImageType, processPhoto, type PhotoMimeType } from './process.js';

/**
 * Where case photos live. Keys are `<sha256 of the stored bytes>.<jpg|png|webp>`: content-addressed,
 * so storing the same photo twice is a no-op, and a key cannot be guessed from a case number.
 * A photo's thumbnail is stored beside it the same way (its own bytes, its own key).
 *
 * The store keeps bytes as given; photos from outside go through storePhoto, which runs the
 * photo pipeline (src/photos/process.ts) first.
 */
export interface PhotoStore {
  put(bytes: Buffer, mimeType: PhotoMimeType): Promise<{ key: string; sha256: string; bytes: number }>;
  get(key: string): Promise<{ bytes: Buffer; mimeType: PhotoMimeType }>;
}

export const PHOTO_KEY_PATTERN = /^[a-f0-9]{64}\.(jpg|png|webp)$/;

const EXTENSION: Record<PhotoMimeType, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };
export const MIME_BY_EXTENSION: Record<string, PhotoMimeType> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

export class PhotoNotFound extends Error {
  constructor(readonly key: string) {
    super(`no photo stored under ${key}`);
    this.name = 'PhotoNotFound';
  }
}

/** The stored bytes no longer hash to their key (disk corruption or tampering). */
export class PhotoCorrupt extends Error {
  constructor(readonly key: string) {
    super(`stored photo ${key} does not match its checksum`);
    this.name = 'PhotoCorrupt';
  }
}

/** A photo as stored for a case: the photo's key and digest, and its thumbnail's key. */
export interface StoredPhoto {
  key: string;
  sha256: string;
  bytes: number;
  mimeType: PhotoMimeType;
  thumbnailKey: string;
  width: number;
  height: number;
}

/**
 * The one way photos from residents enter a store: validates and re-encodes them (throws
 * PhotoRejected for anything we will not keep), then stores the photo and its thumbnail.
 */
export async function storePhoto(store: PhotoStore, rawBytes: Buffer): Promise<StoredPhoto> {
  const processed = await processPhoto(rawBytes);
  const [photo, thumbnail] = await Promise.all([store.put(processed.photo, processed.mime), store.put(processed.thumbnail, processed.mime)]);
  return { ...photo, mimeType: processed.mime, thumbnailKey: thumbnail.key, width: processed.width, height: processed.height };
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Key for bytes about to be stored; refuses bytes whose magic does not match the declared type. */
export function keyFor(bytes: Buffer, mimeType: PhotoMimeType): { key: string; sha256: string } {
  const extension = EXTENSION[mimeType];
  // The extension decides the mime type on the way out, so it must be right on the way in.
  if (!extension || detectImageType(bytes) !== mimeType) throw new TypeError(`bytes are not ${String(mimeType)}`);
  const sha256 = sha256Hex(bytes);
  return { key: `${sha256}.${extension}`, sha256 };
}

export function parseKey(key: string): { sha256: string; mimeType: PhotoMimeType } {
  if (!PHOTO_KEY_PATTERN.test(key)) throw new PhotoNotFound(key); // never touch a path built from a bad key
  const [sha256, extension] = key.split('.') as [string, string];
  return { sha256, mimeType: MIME_BY_EXTENSION[extension]! };
}

export function verified(key: string, bytes: Buffer): { bytes: Buffer; mimeType: PhotoMimeType } {
  const { sha256, mimeType } = parseKey(key);
  if (sha256Hex(bytes) !== sha256) throw new PhotoCorrupt(key);
  return { bytes, mimeType };
}

// ---------------------------------------------------------------------------------------------
// Folder store (the default: DATA_DIR/photos). The S3 store is in s3-store.ts.

/**
 * Photos as files in one folder. Writes go to a temporary file in the same folder which is synced
 * and then renamed over the final name, so a crash or a concurrent reader never sees half a photo.
 * Files are 0600 and the folder 0700: photos show the inside of residents' homes.
 */
export function createFolderStore(dir: string): PhotoStore {
  const root = path.resolve(dir);

  return {
    async put(bytes, mimeType) {
      const { key, sha256 } = keyFor(bytes, mimeType);
      const target = path.join(root, key);
      const result = { key, sha256, bytes: bytes.length };
      // Content-addressed: a file with this name already holds these bytes.
      if (await exists(target)) return result;

      await mkdir(root, { recursive: true, mode: 0o700 }); // cheap when it exists; survives the folder being removed
      const tmp = path.join(root, `.${key}.${randomUUID()}.tmp`);
      try {
        const file = await open(tmp, 'wx', 0o600);
        try {
          await file.writeFile(bytes);
          await file.chmod(0o600); // the mode given to open() is filtered by the umask; be explicit
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return result;
    },

    async get(key) {
      parseKey(key);
      let bytes: Buffer;
      try {
        bytes = await readFile(path.join(root, key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new PhotoNotFound(key);
        throw error;
      }
      return verified(key, bytes);
    },
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
