import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundMessages } from '../../db/schema/index.js';
import { startTestApp, type TestApp } from '../support/app.js';

/**
 * Overload: with room for one message at a time and none waiting, a burst from many chats is
 * partly refused with 503 + Retry-After; every message answered 202 is stored, every refused one
 * is not, and sending the refused ones again (same clientMessageId, as the page does) stores each
 * exactly once.
 */
describe('the web chat API under overload', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { webInbound: { concurrency: 1, maxWaiting: 0 } });
  });
  afterAll(async () => t?.stop());

  it('answers 503 with Retry-After beyond capacity and loses no accepted message', async () => {
    const chats: { cookie: string; sid: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${t.app.url}/chat/api/session`, { method: 'POST', headers: { origin: t.app.url } });
      expect(res.status).toBe(202);
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      chats.push({ cookie, sid: cookie.split('=')[1]!.split('.')[0]! });
    }
    const messages = chats.map((c) => ({ ...c, id: crypto.randomUUID() }));
    const post = (m: (typeof messages)[number]) =>
      fetch(`${t.app.url}/chat/api/messages`, {
        method: 'POST',
        headers: { cookie: m.cookie, 'content-type': 'application/json', origin: t.app.url },
        body: JSON.stringify({ clientMessageId: m.id, text: '你好' }),
      });
    const stored = async (ms: typeof messages) =>
      (
        await t.app.database.db
          .select({ ref: inboundMessages.messageRef })
          .from(inboundMessages)
          .where(and(eq(inboundMessages.channel, 'web'), inArray(inboundMessages.messageRef, ms.map((m) => `${m.sid}:${m.id}`))))
      ).map((r) => r.ref);

    const answers = await Promise.all(messages.map(post));
    const accepted = messages.filter((_, i) => answers[i]!.status === 202);
    const refused = messages.filter((_, i) => answers[i]!.status === 503);
    expect(accepted.length + refused.length).toBe(messages.length);
    expect(refused.length).toBeGreaterThan(0);
    expect(answers.find((a) => a.status === 503)!.headers.get('retry-after')).toBe('1');
    expect((await stored(accepted)).sort()).toEqual(accepted.map((m) => `${m.sid}:${m.id}`).sort());
    expect(await stored(refused)).toEqual([]);

    // The page's retry: one at a time now, so each is admitted, and stored once.
    for (const m of refused) expect((await post(m)).status).toBe(202);
    for (const m of accepted) expect((await post(m)).status).toBe(202); // a duplicate: accepted, changes nothing
    expect((await stored(messages)).length).toBe(messages.length);
  });
});
