import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { COOKIE, readSession, startSession } from '../../../bots/web/session.js';

const SECRET = 'test-session-secret-'.padEnd(64, 'x');

describe('web chat session cookie', () => {
  const app = new Hono();
  app.post('/start', async (c) => c.text(await startSession(c, SECRET, false)));
  app.get('/who', async (c) => c.text((await readSession(c, SECRET)) ?? 'nobody'));
  const who = async (cookie: string) => (await app.request('/who', { headers: { cookie } })).text();

  it('reads back the session id the cookie was signed for', async () => {
    const res = await app.request('/start', { method: 'POST' });
    const id = await res.text();
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    expect(await who(cookie)).toBe(id);
  });

  it('refuses a cookie whose id or signature was changed, or that another secret signed', async () => {
    const res = await app.request('/start', { method: 'POST' });
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const value = decodeURIComponent(cookie.slice(COOKIE.length + 1));
    const [id, signature] = [value.slice(0, value.lastIndexOf('.')), value.slice(value.lastIndexOf('.') + 1)];
    const other = `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
    expect(await who(`${COOKIE}=${encodeURIComponent(`${other}.${signature}`)}`)).toBe('nobody');
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    expect(await who(`${COOKIE}=${encodeURIComponent(`${id}.${flipped}`)}`)).toBe('nobody');
    expect(await who(`${COOKIE}=${id}`)).toBe('nobody');
    const foreign = new Hono();
    foreign.post('/start', async (c) => c.text(await startSession(c, 'another-secret'.padEnd(64, 'y'), false)));
    const theirs = (await foreign.request('/start', { method: 'POST' })).headers.get('set-cookie')!.split(';')[0]!;
    expect(await who(theirs)).toBe('nobody');
  });
});
