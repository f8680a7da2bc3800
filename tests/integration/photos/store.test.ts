import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PhotoRejected } from '../../../src/photos/process.js';
import { createS3Store, S3ConfigError, S3RequestError, type S3StoreConfig } from '../../../src/photos/s3-store.js';
import { createFolderStore, PhotoCorrupt, PhotoNotFound, storePhoto } from '../../../src/photos/store.js';
import { CAMERA_MODEL, phonePhoto } from '../../support/images.js';

/** The key format src/app.ts photoSource accepts. */
const APP_KEY = /^[a-f0-9]{64}\.(jpg|png|webp)$/;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const photo = (width = 300) => phonePhoto({ width, height: 200 });

describe('folder store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'linli-photos-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the processed photo and its thumbnail under their content hashes', async () => {
    const root = path.join(dir, 'photos');
    const store = createFolderStore(root);
    const stored = await storePhoto(store, await photo(3000));
    expect(stored).toMatchObject({ mimeType: 'image/jpeg', width: 2048, height: 137 });
    expect(stored.key).toMatch(APP_KEY);
    expect(stored.thumbnailKey).toMatch(APP_KEY);
    expect(stored.thumbnailKey).not.toBe(stored.key);

    const onDisk = await readFile(path.join(root, stored.key));
    expect(onDisk.includes(Buffer.from(CAMERA_MODEL))).toBe(false);
    expect(stored.key).toBe(`${sha256(onDisk)}.jpg`);
    expect(stored.sha256).toBe(sha256(onDisk));
    expect(stored.bytes).toBe(onDisk.length);
    const thumbnail = await readFile(path.join(root, stored.thumbnailKey));
    expect(stored.thumbnailKey).toBe(`${sha256(thumbnail)}.jpg`);
    expect((await sharp(thumbnail).metadata()).width).toBe(320);

    const back = await store.get(stored.key);
    expect(back.mimeType).toBe('image/jpeg');
    expect(back.bytes.equals(onDisk)).toBe(true);
  });

  it('is idempotent: the same photo twice gives the same keys and the same two files', async () => {
    const store = createFolderStore(dir);
    const raw = await photo();
    const [a, b] = await Promise.all([storePhoto(store, raw), storePhoto(store, raw)]);
    const c = await storePhoto(store, raw);
    expect(b.key).toBe(a.key);
    expect(c.key).toBe(a.key);
    expect((await readdir(dir)).sort()).toEqual([a.key, a.thumbnailKey].sort()); // no temporary files left behind either
    const other = await storePhoto(store, await photo(310));
    expect(other.key).not.toBe(a.key);
    expect(await readdir(dir)).toHaveLength(4);
  });

  it('writes files readable by the owner only', async () => {
    const root = path.join(dir, 'photos');
    const { key } = await storePhoto(createFolderStore(root), await photo());
    expect((await stat(path.join(root, key))).mode & 0o777).toBe(0o600);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
  });

  it('refuses what is not a photo, and bytes that do not match the declared type, writing nothing', async () => {
    const store = createFolderStore(dir);
    await expect(storePhoto(store, Buffer.from('#!/bin/sh\nrm -rf /\n'))).rejects.toBeInstanceOf(PhotoRejected);
    const png = await sharp(await photo()).png().toBuffer();
    await expect(store.put(png, 'image/jpeg')).rejects.toThrow(/not image\/jpeg/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports unknown, malformed and corrupted keys', async () => {
    const store = createFolderStore(dir);
    await expect(store.get(`${'0'.repeat(64)}.png`)).rejects.toBeInstanceOf(PhotoNotFound);
    await expect(store.get('../../etc/passwd')).rejects.toBeInstanceOf(PhotoNotFound);
    await expect(store.get(`${'A'.repeat(64)}.png`)).rejects.toBeInstanceOf(PhotoNotFound);
    const { key } = await storePhoto(store, await photo());
    await writeFile(path.join(dir, key), await photo(301));
    await expect(store.get(key)).rejects.toBeInstanceOf(PhotoCorrupt);
  });
});

// ---------------------------------------------------------------------------------------------
// S3: s3rver (an S3-compatible server from npm) runs in this process on a free port. It checks
// the access key of its built-in key pair and, like AWS, serves buckets both virtual-hosted
// (`<bucket>.s3.<serviceEndpoint>`) and path-style.

const BUCKET = 'case-photos';
/** The service's domain: `s3.linli.test` is the endpoint, `case-photos.s3.linli.test` the bucket. */
const SERVICE_DOMAIN = 'linli.test';

/** Resolves the test's service domain (and its bucket subdomains) to this machine; nothing else changes. */
function testLookup(hostname: string, options: LookupOptions, callback: (...args: any[]) => void): void {
  if (hostname === `s3.${SERVICE_DOMAIN}` || hostname.endsWith(`.s3.${SERVICE_DOMAIN}`)) {
    const address: LookupAddress = { address: '127.0.0.1', family: 4 };
    if (options.all) callback(null, [address]);
    else callback(null, address.address, address.family);
    return;
  }
  dnsLookup(hostname, options, callback);
}

describe('S3 store', () => {
  let s3: S3rver;
  let port: number;
  let dir: string;
  let hosts: string[];
  const agent = new Agent({ lookup: testLookup });
  const client = { requestHandler: { httpAgent: agent, requestTimeout: 10_000 } };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'linli-s3rver-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, serviceEndpoint: SERVICE_DOMAIN, configureBuckets: [{ name: BUCKET, configs: [] }] });
    // Which Host each request named: the proof of virtual-hosted vs path-style addressing.
    const server = (await s3.run(), (s3 as unknown as { httpServer: import('node:http').Server }).httpServer);
    hosts = [];
    server.prependListener('request', (req) => hosts.push(`${req.headers.host} ${req.url!.split("?")[0]}`));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    agent.destroy();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (over: Partial<S3StoreConfig> = {}): S3StoreConfig => ({
    endpoint: `http://s3.${SERVICE_DOMAIN}:${port}`,
    bucket: BUCKET,
    region: 'cn-north-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    ...over,
  });

  it('addresses the bucket virtual-hosted by default, stores photo and thumbnail, and reads them back', async () => {
    hosts.length = 0;
    const store = createS3Store(config(), client);
    const stored = await storePhoto(store, await photo(320));
    expect(hosts).toEqual(expect.arrayContaining([`${BUCKET}.s3.${SERVICE_DOMAIN}:${port} /${stored.key}`, `${BUCKET}.s3.${SERVICE_DOMAIN}:${port} /${stored.thumbnailKey}`]));

    const back = await store.get(stored.key);
    expect(back.mimeType).toBe('image/jpeg');
    expect(sha256(back.bytes)).toBe(stored.sha256);
    expect(back.bytes.includes(Buffer.from(CAMERA_MODEL))).toBe(false);
    expect((await sharp((await store.get(stored.thumbnailKey)).bytes).metadata()).width).toBe(320);
  });

  it('addresses the bucket path-style when asked (MinIO)', async () => {
    hosts.length = 0;
    const store = createS3Store(config({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true }), client);
    const stored = await storePhoto(store, await photo(330));
    expect(hosts).toContain(`127.0.0.1:${port} /${BUCKET}/${stored.key}`);
    expect(sha256((await store.get(stored.key)).bytes)).toBe(stored.sha256);
  });

  it('gives the same key for the same photo and reports a missing one', async () => {
    const store = createS3Store(config(), client);
    const raw = await photo(340);
    const a = await storePhoto(store, raw);
    const b = await storePhoto(store, raw);
    expect(b.key).toBe(a.key);
    await expect(store.get(`${'f'.repeat(64)}.jpg`)).rejects.toBeInstanceOf(PhotoNotFound);
  });

  it('surfaces refused credentials as an S3 error with its code, without the secret', async () => {
    // s3rver checks the access key but, unlike AWS, not the V4 signature itself (its README says so).
    const store = createS3Store(config({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'not-the-secret' }), client);
    const error = await storePhoto(store, await photo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3RequestError);
    expect(error).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    expect(String(error)).not.toContain('not-the-secret');
  });

  it('retries a request the server answered with 503, then succeeds', async () => {
    // A front that fails the first PUT with 503 SlowDown and passes everything else to s3rver.
    let failures = 1;
    const seen: string[] = [];
    const front = createServer((req, res) => {
      seen.push(req.method!);
      if (req.method === 'PUT' && failures-- > 0) {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/xml' }).end('<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>');
        return;
      }
      s3.callback()(req, res);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const frontPort = (front.address() as AddressInfo).port;
      const store = createS3Store(config({ endpoint: `http://127.0.0.1:${frontPort}`, forcePathStyle: true }), client);
      const raw = await sharp(await photo(350)).png().toBuffer();
      const processed = await storePhoto(store, raw);
      expect(seen.filter((m) => m === 'PUT').length).toBe(3); // photo (refused once, then stored) and thumbnail
      expect(sha256((await store.get(processed.key)).bytes)).toBe(processed.sha256);
    } finally {
      await new Promise<void>((resolve) => front.close(() => resolve()));
    }
  });

  it('validates its settings', () => {
    expect(() => createS3Store(config({ endpoint: 'minio:9000' }))).toThrow(S3ConfigError);
    expect(() => createS3Store(config({ endpoint: 'ftp://minio' }))).toThrow(S3ConfigError);
    expect(() => createS3Store(config({ bucket: 'Case_Photos' }))).toThrow(S3ConfigError);
    expect(() => createS3Store(config({ bucket: '../x' }))).toThrow(S3ConfigError);
    expect(() => createS3Store(config({ region: '' }))).toThrow(S3ConfigError);
    expect(() => createS3Store(config({ secretAccessKey: '' }))).toThrow(/secretAccessKey/);
  });
});
