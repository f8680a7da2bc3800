import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { detectImageType, InvalidImage, stripMetadata, type PhotoMimeType } from './strip.js';

/**
 * Where case photos live. Keys are `<sha256 of the stored bytes>.<jpg|png|webp>`: content-addressed,
 * so storing the same photo twice is a no-op, and a key cannot be guessed from a case number.
 * src/app.ts reads the folder store directly with the same key format (PHOTO_KEY_PATTERN).
 *
 * The store keeps bytes as given; photos from outside go through storePhoto, which strips metadata first.
 */
export interface PhotoStore {
  put(bytes: Buffer, mimeType: PhotoMimeType): Promise<{ key: string; sha256: string; bytes: number }>;
  get(key: string): Promise<{ bytes: Buffer; mimeType: PhotoMimeType }>;
}

export const PHOTO_KEY_PATTERN = /^[a-f0-9]{64}\.(jpg|png|webp)$/;

const EXTENSION: Record<PhotoMimeType, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };
const MIME_BY_EXTENSION: Record<string, PhotoMimeType> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

export class PhotoTooLarge extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`photo is ${size} bytes, the limit is ${limit}`);
    this.name = 'PhotoTooLarge';
  }
}

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

/**
 * The one way photos from residents should enter a store: refuses oversized input before parsing
 * it, strips metadata (throws InvalidImage for anything that is not a well-formed JPEG/PNG/WebP),
 * then stores the stripped bytes.
 */
export async function storePhoto(
  store: PhotoStore,
  rawBytes: Buffer,
  maxBytes: number,
): Promise<{ key: string; sha256: string; bytes: number; mimeType: PhotoMimeType }> {
  if (rawBytes.length > maxBytes) throw new PhotoTooLarge(rawBytes.length, maxBytes);
  const stripped = stripMetadata(rawBytes);
  const stored = await store.put(stripped.bytes, stripped.mimeType);
  return { ...stored, mimeType: stripped.mimeType };
}

function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Key for bytes about to be stored; also refuses bytes whose magic does not match the declared type. */
function keyFor(bytes: Buffer, mimeType: PhotoMimeType): { key: string; sha256: string } {
  const extension = EXTENSION[mimeType];
  if (!extension) throw new InvalidImage(`unsupported photo type ${String(mimeType)}`);
  // The extension decides the mime type on the way out, so it must be right on the way in.
  if (detectImageType(bytes) !== mimeType) throw new InvalidImage(`bytes are not ${mimeType}`);
  const sha256 = sha256Hex(bytes);
  return { key: `${sha256}.${extension}`, sha256 };
}

function parseKey(key: string): { sha256: string; mimeType: PhotoMimeType } {
  if (!PHOTO_KEY_PATTERN.test(key)) throw new PhotoNotFound(key); // never touch a path built from a bad key
  const [sha256, extension] = key.split('.') as [string, string];
  return { sha256, mimeType: MIME_BY_EXTENSION[extension]! };
}

function verified(key: string, bytes: Buffer): { bytes: Buffer; mimeType: PhotoMimeType } {
  const { sha256, mimeType } = parseKey(key);
  if (sha256Hex(bytes) !== sha256) throw new PhotoCorrupt(key);
  return { bytes, mimeType };
}

// ---------------------------------------------------------------------------------------------
// Folder store (the default: DATA_DIR/photos)

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

// ---------------------------------------------------------------------------------------------
// S3-compatible store (AWS S3, MinIO, Ceph RGW, ...)

const s3ConfigSchema = z.object({
  endpoint: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL such as http://minio:9000' })
    .refine((u) => !u.includes('?') && !u.includes('#'), 'no query or fragment')
    .transform((u) => u.replace(/\/+$/, '')),
  // S3 bucket naming rules; with path-style URLs the name goes into the path verbatim.
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name: 3-63 of a-z 0-9 . -'),
  region: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a region such as us-east-1'),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  /** Per-request timeout; a hung object store must not hang a conversation. */
  timeoutMs: z.number().int().positive().default(30_000),
});

export type S3StoreConfig = z.input<typeof s3ConfigSchema>;

/** Thrown when the S3 settings are wrong; the message names each bad field. */
export class S3ConfigError extends Error {
  constructor(message: string) {
    super(`invalid S3 photo store settings:\n${message}`);
    this.name = 'S3ConfigError';
  }
}

/** The object store answered with an error status. The message carries S3's error code, never credentials. */
export class S3RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    method: string,
    key: string,
  ) {
    super(`S3 ${method} ${key} failed: HTTP ${status}${code ? ` ${code}` : ''}`);
    this.name = 'S3RequestError';
  }
}

/**
 * Photos in an S3-compatible bucket, addressed path-style (`${endpoint}/${bucket}/${key}`), which
 * every S3-compatible server supports and which needs no DNS per bucket. Requests are signed with
 * AWS Signature Version 4 (implemented below with node:crypto; no SDK).
 */
export function createS3Store(input: S3StoreConfig): PhotoStore {
  const parsed = s3ConfigSchema.safeParse(input);
  if (!parsed.success) throw new S3ConfigError(z.prettifyError(parsed.error));
  const config = parsed.data;

  async function request(method: 'PUT' | 'GET', key: string, body?: Buffer): Promise<Response> {
    const url = new URL(`${config.endpoint}/${config.bucket}/${key}`);
    const payload = body ?? Buffer.alloc(0);
    const headers: Record<string, string> = { 'x-amz-content-sha256': sha256Hex(payload) };
    if (body) headers['content-type'] = MIME_BY_EXTENSION[key.split('.').pop()!]!;
    const signed = signV4({
      method,
      url,
      headers,
      payloadSha256: headers['x-amz-content-sha256']!,
      region: config.region,
      service: 's3',
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      now: new Date(),
    });
    return fetch(url, {
      method,
      headers: signed,
      body: body ? new Uint8Array(body) : undefined, // a copy: BodyInit wants a plain ArrayBuffer-backed view
      signal: AbortSignal.timeout(config.timeoutMs),
      redirect: 'error', // a redirect would need a new signature; S3 only redirects for wrong regions
    });
  }

  async function fail(response: Response, method: string, key: string): Promise<never> {
    const text = await response.text().catch(() => '');
    const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
    throw new S3RequestError(response.status, code, method, key);
  }

  return {
    async put(bytes, mimeType) {
      const { key, sha256 } = keyFor(bytes, mimeType);
      const response = await request('PUT', key, bytes);
      if (!response.ok) await fail(response, 'PUT', key);
      await response.body?.cancel();
      return { key, sha256, bytes: bytes.length };
    },

    async get(key) {
      parseKey(key);
      const response = await request('GET', key);
      if (response.status === 404) {
        await response.body?.cancel();
        throw new PhotoNotFound(key);
      }
      if (!response.ok) await fail(response, 'GET', key);
      return verified(key, Buffer.from(await response.arrayBuffer()));
    },
  };
}

export interface SignV4Input {
  method: string;
  url: URL;
  /** Headers to send and sign besides host and x-amz-date (names in lower case). */
  headers: Record<string, string>;
  payloadSha256: string;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
  now: Date;
}

/**
 * AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 * Returns the headers to send: the given ones plus x-amz-date and Authorization. Host is signed
 * but not returned: fetch sets it from the URL (and refuses to let us set it), to the same value.
 */
export function signV4(input: SignV4Input): Record<string, string> {
  const amzDate = input.now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20240101T120000Z
  const date = amzDate.slice(0, 8);
  const all: Record<string, string> = { ...lowerCaseKeys(input.headers), host: input.url.host, 'x-amz-date': amzDate };
  const names = Object.keys(all).sort();
  const canonicalHeaders = names.map((n) => `${n}:${all[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');

  const canonicalRequest = [
    input.method,
    canonicalUri(input.url.pathname),
    canonicalQuery(input.url.searchParams),
    canonicalHeaders,
    signedHeaders,
    input.payloadSha256,
  ].join('\n');

  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');

  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, date), input.region), input.service), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');

  const { host: _host, ...send } = all;
  return {
    ...send,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper-case hex). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3 signs the path with each segment encoded once (unlike other services, not twice). */
function canonicalUri(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
