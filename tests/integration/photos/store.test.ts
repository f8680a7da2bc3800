import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidImage } from '../../../src/photos/strip.js';
import {
  createFolderStore,
  createS3Store,
  PhotoCorrupt,
  PhotoNotFound,
  PhotoTooLarge,
  S3ConfigError,
  S3RequestError,
  storePhoto,
} from '../../../src/photos/store.js';

/** The key format src/app.ts photoSource accepts. */
const APP_KEY = /^[a-f0-9]{64}\.(jpg|png|webp)$/;
const GPS = 'GPSLatitude=39.9042N;GPSLongitude=116.4074E';
const MAX = 1024 * 1024;

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A real 1x1 grey PNG with a tEXt chunk carrying a location, like an editor would leave behind. */
function photo(grey = 0x80): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('tEXt', Buffer.from(`Location\0${GPS}`, 'latin1')),
    chunk('IDAT', deflateSync(Buffer.from([0, grey]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('folder store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'linli-photos-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the stripped photo under its content hash and returns it', async () => {
    const root = path.join(dir, 'data', 'photos'); // created on first write (mkdir -p)
    const store = createFolderStore(root);
    const stored = await storePhoto(store, photo(), MAX);
    expect(stored.key).toMatch(APP_KEY);
    expect(stored.key.endsWith('.png')).toBe(true);
    expect(stored.mimeType).toBe('image/png');

    const onDisk = await readFile(path.join(root, stored.key));
    expect(onDisk.includes(Buffer.from('GPSLatitude'))).toBe(false);
    expect(stored.sha256).toBe(sha256(onDisk));
    expect(stored.key).toBe(`${sha256(onDisk)}.png`);
    expect(stored.bytes).toBe(onDisk.length);

    const back = await store.get(stored.key);
    expect(back.mimeType).toBe('image/png');
    expect(back.bytes.equals(onDisk)).toBe(true);
  });

  it('is idempotent: the same photo twice gives the same key and one file', async () => {
    const store = createFolderStore(dir);
    const [a, b] = await Promise.all([storePhoto(store, photo(), MAX), storePhoto(store, photo(), MAX)]);
    const c = await storePhoto(store, photo(), MAX);
    expect(b.key).toBe(a.key);
    expect(c.key).toBe(a.key);
    expect(await readdir(dir)).toEqual([a.key]); // no temporary files left behind either
    const other = await storePhoto(store, photo(0x10), MAX);
    expect(other.key).not.toBe(a.key);
    expect((await readdir(dir)).sort()).toEqual([a.key, other.key].sort());
  });

  it('writes files readable by the owner only', async () => {
    const root = path.join(dir, 'photos');
    const { key } = await storePhoto(createFolderStore(root), photo(), MAX);
    expect((await stat(path.join(root, key))).mode & 0o777).toBe(0o600);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
  });

  it('refuses a photo over the size limit and writes nothing', async () => {
    const store = createFolderStore(dir);
    const raw = photo();
    await expect(storePhoto(store, raw, raw.length - 1)).rejects.toBeInstanceOf(PhotoTooLarge);
    await expect(storePhoto(store, raw, raw.length - 1)).rejects.toMatchObject({ size: raw.length, limit: raw.length - 1 });
    await expect(storePhoto(store, raw, raw.length)).resolves.toMatchObject({ mimeType: 'image/png' });
  });

  it('refuses what is not an image, and bytes that do not match the declared type', async () => {
    const store = createFolderStore(dir);
    await expect(storePhoto(store, Buffer.from('#!/bin/sh\nrm -rf /\n'), MAX)).rejects.toBeInstanceOf(InvalidImage);
    await expect(store.put(photo(), 'image/jpeg')).rejects.toBeInstanceOf(InvalidImage);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports unknown, malformed and corrupted keys', async () => {
    const store = createFolderStore(dir);
    await expect(store.get(`${'0'.repeat(64)}.png`)).rejects.toBeInstanceOf(PhotoNotFound);
    await expect(store.get('../../etc/passwd')).rejects.toBeInstanceOf(PhotoNotFound);
    await expect(store.get(`${'A'.repeat(64)}.png`)).rejects.toBeInstanceOf(PhotoNotFound);
    const { key } = await storePhoto(store, photo(), MAX);
    await writeFile(path.join(dir, key), photo(0x11));
    await expect(store.get(key)).rejects.toBeInstanceOf(PhotoCorrupt);
  });
});

// ---------------------------------------------------------------------------------------------
// A minimal S3 stand-in that verifies AWS Signature V4 on every request, written independently
// of src/photos/store.ts from the documented algorithm:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html

const ACCESS_KEY = 'AKIDEXAMPLELINLI';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const REGION = 'cn-north-1';
const BUCKET = 'case-photos';

interface FakeS3 {
  url: string;
  objects: Map<string, { body: Buffer; contentType: string | undefined }>;
  requests: { method: string; path: string; authorization: string; signedHeaders: string[] }[];
  close(): Promise<void>;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function verifySigV4(method: string, rawUrl: string, headers: Record<string, string | string[] | undefined>, body: Buffer): string | undefined {
  const auth = headers.authorization;
  if (typeof auth !== 'string') return 'missing Authorization';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return `malformed Authorization: ${auth}`;
  const [, accessKey, date, region, signedHeaderList, signature] = m as unknown as [string, string, string, string, string, string];
  if (accessKey !== ACCESS_KEY) return 'unknown access key';
  if (region !== REGION) return 'wrong region';
  const signed = signedHeaderList.split(';');
  for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date']) if (!signed.includes(required)) return `${required} not signed`;
  if ([...signed].sort().join(';') !== signedHeaderList) return 'SignedHeaders not sorted';

  const amzDate = headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) return 'bad x-amz-date';
  const when = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - when) > 15 * 60_000) return 'request time too skewed';
  const payloadHash = headers['x-amz-content-sha256'];
  if (payloadHash !== createHash('sha256').update(body).digest('hex')) return 'x-amz-content-sha256 does not match the body';

  const url = new URL(rawUrl, 'http://placeholder');
  const query = [...url.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).sort().join('&');
  const canonicalHeaders = signed.map((name) => `${name}:${String(headers[name] ?? '').trim()}\n`).join('');
  const canonicalRequest = `${method}\n${url.pathname}\n${query}\n${canonicalHeaders}\n${signedHeaderList}\n${payloadHash}`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${date}/${region}/s3/aws4_request\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const kSigning = hmac(hmac(hmac(hmac(`AWS4${SECRET}`, date), region), 's3'), 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  return expected === signature ? undefined : 'SignatureDoesNotMatch';
}

async function startFakeS3(prefix = ''): Promise<FakeS3> {
  const objects: FakeS3['objects'] = new Map();
  const requests: FakeS3['requests'] = [];
  const xmlError = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>x</Message></Error>`;

  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const method = req.method ?? '';
      const rawUrl = req.url ?? '';
      const problem = verifySigV4(method, rawUrl, req.headers, body);
      const authorization = String(req.headers.authorization ?? '');
      requests.push({ method, path: rawUrl, authorization, signedHeaders: /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [] });
      if (problem) {
        res.writeHead(403, { 'content-type': 'application/xml' }).end(xmlError(problem === 'SignatureDoesNotMatch' ? problem : `AccessDenied: ${problem}`));
        return;
      }
      const objectPath = rawUrl.startsWith(`${prefix}/${BUCKET}/`) ? rawUrl.slice(`${prefix}/${BUCKET}/`.length) : undefined;
      if (!objectPath) {
        res.writeHead(404, { 'content-type': 'application/xml' }).end(xmlError('NoSuchBucket'));
        return;
      }
      if (method === 'PUT') {
        objects.set(objectPath, { body, contentType: req.headers['content-type'] });
        res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
      } else if (method === 'GET') {
        const object = objects.get(objectPath);
        if (!object) res.writeHead(404, { 'content-type': 'application/xml' }).end(xmlError('NoSuchKey'));
        else res.writeHead(200, { 'content-type': object.contentType ?? 'application/octet-stream' }).end(object.body);
      } else {
        res.writeHead(405).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

describe('S3 store', () => {
  let s3: FakeS3;
  beforeAll(async () => {
    s3 = await startFakeS3();
  });
  afterAll(async () => {
    await s3.close();
  });
  const config = () => ({ endpoint: s3.url, bucket: BUCKET, region: REGION, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET });

  it('PUTs the stripped photo path-style with a valid SigV4 signature and GETs it back', async () => {
    const store = createS3Store(config());
    const stored = await storePhoto(store, photo(0x42), MAX);
    expect(stored.key).toMatch(APP_KEY);

    const put = s3.requests.at(-1)!;
    expect(put.method).toBe('PUT');
    expect(put.path).toBe(`/${BUCKET}/${stored.key}`);
    expect(put.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/\\d{8}/${REGION}/s3/aws4_request, SignedHeaders=`));
    expect(put.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-content-sha256', 'x-amz-date']));

    const object = s3.objects.get(stored.key)!;
    expect(object.contentType).toBe('image/png');
    expect(object.body.includes(Buffer.from('GPSLatitude'))).toBe(false);
    expect(sha256(object.body)).toBe(stored.sha256);

    const back = await store.get(stored.key);
    expect(s3.requests.at(-1)!.method).toBe('GET');
    expect(back.mimeType).toBe('image/png');
    expect(back.bytes.equals(object.body)).toBe(true);
  });

  it('gives the same key for the same photo and reports a missing one', async () => {
    const store = createS3Store(config());
    const a = await storePhoto(store, photo(0x43), MAX);
    const b = await storePhoto(store, photo(0x43), MAX);
    expect(b.key).toBe(a.key);
    await expect(store.get(`${'f'.repeat(64)}.jpg`)).rejects.toBeInstanceOf(PhotoNotFound);
  });

  it('surfaces a rejected signature as an S3 error with its code', async () => {
    const store = createS3Store({ ...config(), secretAccessKey: 'not-the-secret' });
    const error = await storePhoto(store, photo(), MAX).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3RequestError);
    expect(error).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(String(error)).not.toContain('not-the-secret');
  });

  it('works behind an endpoint with a path prefix', async () => {
    const prefixed = await startFakeS3('/storage');
    try {
      const store = createS3Store({ ...config(), endpoint: `${prefixed.url}/storage/` });
      const { key } = await storePhoto(store, photo(0x44), MAX);
      expect(prefixed.requests.at(-1)!.path).toBe(`/storage/${BUCKET}/${key}`);
      expect((await store.get(key)).bytes.length).toBeGreaterThan(0);
    } finally {
      await prefixed.close();
    }
  });

  it('validates its settings', () => {
    expect(() => createS3Store({ ...config(), endpoint: 'minio:9000' })).toThrow(S3ConfigError);
    expect(() => createS3Store({ ...config(), endpoint: 'ftp://minio' })).toThrow(S3ConfigError);
    expect(() => createS3Store({ ...config(), bucket: 'Case_Photos' })).toThrow(S3ConfigError);
    expect(() => createS3Store({ ...config(), bucket: '../x' })).toThrow(S3ConfigError);
    expect(() => createS3Store({ ...config(), region: '' })).toThrow(S3ConfigError);
    expect(() => createS3Store({ ...config(), secretAccessKey: '' })).toThrow(/secretAccessKey/);
  });
});
