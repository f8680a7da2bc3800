import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { keyFor, MIME_BY_EXTENSION, parseKey, PhotoNotFound, verified, type PhotoStore } from './store.js';

const s3ConfigSchema = z.object({
  endpoint: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL such as https://oss-cn-beijing.aliyuncs.com' })
    .refine((u) => !u.includes('?') && !u.includes('#'), 'no query or fragment')
    .transform((u) => u.replace(/\/+$/, '')),
  // S3 bucket naming rules (DNS-safe, so virtual-hosted addressing works).
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name: 3-63 of a-z 0-9 . -'),
  region: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a region such as us-east-1'),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  /**
   * `https://<bucket>.<endpoint host>/<key>` (virtual-hosted, what AWS and Aliyun OSS require) by
   * default; `<endpoint>/<bucket>/<key>` when true (MinIO and other servers without bucket DNS).
   */
  forcePathStyle: z.boolean().default(false),
  /** Attempts per request, the first included; the SDK's standard retry backs off between them. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Per-attempt timeout; a hung object store must not hang a conversation. */
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
    readonly status: number | undefined,
    readonly code: string,
    method: string,
    key: string,
  ) {
    super(`S3 ${method} ${key} failed: HTTP ${status ?? '?'} ${code}`);
    this.name = 'S3RequestError';
  }
}

/**
 * Photos in an S3-compatible bucket (AWS S3, Aliyun OSS, Tencent COS, MinIO, Ceph RGW …) through
 * the AWS SDK, which signs, retries and addresses the bucket. `client` adds SDK settings (the
 * tests give it a DNS lookup for bucket host names).
 */
export function createS3Store(input: S3StoreConfig, client: Partial<S3ClientConfig> = {}): PhotoStore {
  const parsed = s3ConfigSchema.safeParse(input);
  if (!parsed.success) throw new S3ConfigError(z.prettifyError(parsed.error));
  const config = parsed.data;
  const s3 = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    forcePathStyle: config.forcePathStyle,
    maxAttempts: config.maxAttempts,
    retryMode: 'standard',
    requestHandler: { requestTimeout: config.timeoutMs, connectionTimeout: Math.min(config.timeoutMs, 10_000) },
    // Checksums only where S3 requires them: several S3-compatible servers refuse the newer
    // CRC headers, and every photo is checked against its SHA-256 key on the way out anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...client,
  });

  async function send<T>(method: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof NoSuchKey) throw new PhotoNotFound(key);
      if (error instanceof S3ServiceException) throw new S3RequestError(error.$metadata.httpStatusCode, error.name, method, key);
      throw error;
    }
  }

  return {
    async put(bytes, mimeType) {
      const { key, sha256 } = keyFor(bytes, mimeType);
      await send('PUT', key, () =>
        s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: bytes, ContentType: MIME_BY_EXTENSION[key.split('.').pop()!] })),
      );
      return { key, sha256, bytes: bytes.length };
    },

    async get(key) {
      parseKey(key);
      const object = await send('GET', key, () => s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key })));
      if (!object.Body) throw new PhotoNotFound(key);
      return verified(key, Buffer.from(await object.Body.transformToByteArray()));
    },
  };
}
