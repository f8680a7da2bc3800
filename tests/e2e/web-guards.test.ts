import { request } from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities, inboundMessages, people } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jpegWithExif } from '../support/images.js';

const ko = messages('ko');

/** A browser-like client of the web chat API: keeps its cookie, sends our Origin. */
class Client {
  cookie = '';
  constructor(
    readonly base: string,
    readonly headers: Record<string, string> = {},
  ) {}
  async fetch(p: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const res = await fetch(`${this.base}${p}`, {
      ...init,
      headers: { origin: this.base, ...this.headers, ...(this.cookie ? { cookie: this.cookie } : {}), ...init.headers },
    });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0]!;
    return res;
  }
  open() {
    return this.fetch('/chat/api/session', { method: 'POST' });
  }
  say(text: string) {
    return this.fetch('/chat/api/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientMessageId: crypto.randomUUID(), text }),
    });
  }
  async replies(after = 0): Promise<string[]> {
    const res = await this.fetch(`/chat/api/messages?after=${after}`);
    return ((await res.json()) as { messages: { text: string }[] }).messages.map((m) => m.text);
  }
}

/** Streams `totalBytes` as a chunked body; resolves with the status once the server answers. */
function chunkedPost(url: string, totalBytes: number, headers: Record<string, string>): Promise<{ status: number; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sentBytes: sent }));
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (!answered && sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('the web chat behind a trusted reverse proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEB_SESSIONS_PER_ADDRESS_PER_HOUR: '2', WEB_TRUST_PROXY: 'true' });
  });
  afterAll(async () => t?.stop());

  it('limits sessions per client address as the proxy saw it, not per proxy', async () => {
    const open = (forwarded: string) => new Client(t.app.url, { 'x-forwarded-for': forwarded }).open();
    expect((await open('203.0.113.7')).status).toBe(202);
    expect((await open('203.0.113.7')).status).toBe(202);
    expect((await open('203.0.113.7')).status).toBe(429);
    // A client claiming another address in front of the proxy's entry gains nothing.
    expect((await open('198.51.100.1, 203.0.113.7')).status).toBe(429);
    expect((await open('203.0.113.8')).status).toBe(202);
  });
});

describe('the web chat at its edge', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEB_SESSIONS_PER_ADDRESS_PER_HOUR: '8' });
  });
  afterAll(async () => t?.stop());
  const peopleCount = async () => (await t.app.database.db.select({ n: count() }).from(people))[0]!.n;

  it('refuses a cross-site POST, whatever its content type, and stores nothing', async () => {
    const before = await t.app.database.db.select({ n: count() }).from(inboundMessages);
    const evil = { origin: 'https://evil.example' };
    const answers = await Promise.all([
      fetch(`${t.app.url}/chat/api/session`, { method: 'POST', headers: evil }),
      fetch(`${t.app.url}/chat/api/messages`, { method: 'POST', headers: { ...evil, 'content-type': 'text/plain' }, body: '{"text":"x"}' }),
      fetch(`${t.app.url}/chat/api/messages`, { method: 'POST', headers: { ...evil, 'content-type': 'application/json' }, body: '{}' }),
      fetch(`${t.app.url}/chat/api/session`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }),
      // A form post without any Origin (an old browser, a plain <form>) is refused too.
      fetch(`${t.app.url}/chat/api/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([403, 403, 403, 403, 403]);
    expect(answers.some((r) => r.headers.get('set-cookie'))).toBe(false);
    expect(await t.app.database.db.select({ n: count() }).from(inboundMessages)).toEqual(before);
  });

  it('serves the page with a nonce-only CSP and no framing', async () => {
    const res = await fetch(`${t.app.url}/chat`);
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain(`<style nonce="${nonce}">`);
  });

  it('answers a visitor whose Accept-Language is long and odd, in the language it names', async () => {
    const c = new Client(t.app.url, { 'accept-language': `${'x-very-long-tag-'.repeat(20)};q=0.9, ko-KR;q=0.8, en;q=0.1` });
    expect((await c.open()).status).toBe(202);
    expect((await c.say('안녕하세요')).status).toBe(202);
    const sid = c.cookie.split('=')[1]!.split('.')[0]!;
    const [identity] = await t.app.database.db.select().from(channelIdentities).where(eq(channelIdentities.userRef, decodeURIComponent(sid)));
    const [person] = await t.app.database.db.select().from(people).where(eq(people.id, identity!.personId));
    expect(person!.locale).toBe('ko');
    const deadline = Date.now() + 10_000;
    let got: string[] = [];
    while (got.length < 2 && Date.now() < deadline) got = await c.replies();
    expect(got[0]).toBe(ko.onboarding.welcome);
  });

  it('refuses a 50 MB chunked body after reading at most the limit, and memory stays flat', async () => {
    const c = new Client(t.app.url);
    await c.open();
    global.gc?.();
    const before = process.memoryUsage().rss;
    const { status, sentBytes } = await chunkedPost(`${t.app.url}/chat/api/messages`, 50 * 1024 * 1024, {
      origin: t.app.url,
      cookie: c.cookie,
      'content-type': 'application/json',
    });
    expect(status).toBe(413);
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
    expect(sentBytes).toBeLessThanOrEqual(50 * 1024 * 1024);
  });

  it('takes no upload where no step asks for a photo, before reading the body', async () => {
    const c = new Client(t.app.url);
    await c.open();
    const form = new FormData();
    form.append('photo', new Blob([new Uint8Array(await jpegWithExif())], { type: 'image/jpeg' }), 'a.jpg');
    form.append('clientMessageId', crypto.randomUUID());
    const res = await c.fetch('/chat/api/photos', { method: 'POST', body: form });
    expect(res.status).toBe(409);
    const uploads = path.join(t.dataDir, 'uploads');
    expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([]);
    const chunked = await chunkedPost(`${t.app.url}/chat/api/photos`, 50 * 1024 * 1024, { origin: t.app.url, cookie: c.cookie, 'content-type': 'multipart/form-data; boundary=x' });
    expect(chunked.status).toBe(409);
  });

  it('limits how many sessions (each a new person) one address may open', async () => {
    const before = await peopleCount();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await new Client(t.app.url).open()).status);
    // Three earlier tests in this file opened one each; the limit is eight an hour.
    expect(statuses).toEqual([...Array(8 - 3).fill(202), ...Array(12 - 5).fill(429)]);
    expect(await peopleCount()).toBe(before + 5);
  });
});
