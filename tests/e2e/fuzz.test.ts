import { count } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundMessages } from '../../db/schema/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { waitFor } from '../support/wait.js';

const TOKEN = '123456:FUZZ-token';
const SECRET = 'webhook-secret-fuzz-0123456789';

/** Printable ASCII: what an HTTP header value can carry. */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
/** Any JSON-ish value, unicode (bidi overrides, emoji, lone surrogates' replacements) included. */
const anyJson = fc.jsonValue({ maxDepth: 4 });
const anyText = fc.string({ unit: 'grapheme', maxLength: 3000 });
const bodyOf = fc.oneof(
  anyJson.map((v) => JSON.stringify(v)),
  anyText,
  fc.record({ clientMessageId: fc.oneof(fc.uuid(), anyText), text: anyText }).map((v) => JSON.stringify(v)),
  fc.record({ clientMessageId: fc.uuid(), choice: anyText }).map((v) => JSON.stringify(v)),
  fc.record({ clientMessageId: fc.uuid(), location: fc.record({ lat: fc.double(), lng: fc.double() }) }).map((v) => JSON.stringify(v)),
);

describe('random input at the web chat API and the Telegram webhook', () => {
  let t: TestApp;
  let emulator: TelegramEmulator;
  let cookie = '';
  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
    t = await startTestApp({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: emulator.url,
      TELEGRAM_WEBHOOK_URL: 'https://linli.example.org/telegram/webhook',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      WEB_SESSIONS_PER_ADDRESS_PER_HOUR: '1000',
    });
    await waitFor(async () => !!emulator.webhook, 'the webhook to be registered');
    const res = await fetch(`${t.app.url}/chat/api/session`, { method: 'POST', headers: { origin: t.app.url } });
    cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });
  const stored = async () => (await t.app.database.db.select({ n: count() }).from(inboundMessages))[0]!.n;

  it('never answers 5xx to the web API, and stores nothing from a refused request', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyOf,
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''),
        headerValue,
        fc.boolean(),
        fc.constantFrom('/chat/api/messages', '/chat/api/photos', '/chat/api/session'),
        async (body, contentType, acceptLanguage, withCookie, route) => {
          const before = await stored();
          const res = await fetch(`${t.app.url}${route}`, {
            method: 'POST',
            headers: { origin: t.app.url, 'accept-language': acceptLanguage, ...(contentType ? { 'content-type': contentType } : {}), ...(withCookie ? { cookie } : {}) },
            body,
          });
          await res.arrayBuffer();
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) expect(await stored()).toBe(before);
        },
      ),
      { numRuns: 120 },
    );
  }, 180_000);

  it('never answers 5xx to the webhook, and stores nothing without the secret', async () => {
    const update = fc.oneof(
      anyJson,
      fc.record({
        update_id: fc.integer(),
        message: fc.record({
          message_id: fc.integer(),
          date: fc.integer(),
          chat: fc.record({ id: fc.integer(), type: fc.constantFrom('private', 'group', 'channel') }),
          from: fc.record({ id: fc.integer(), is_bot: fc.boolean(), first_name: anyText, language_code: fc.option(headerValue, { nil: undefined }) }),
          text: fc.option(anyText, { nil: undefined }),
        }),
      }),
      fc.record({ update_id: fc.integer(), callback_query: fc.record({ id: anyText, from: fc.record({ id: fc.integer(), is_bot: fc.boolean(), first_name: anyText }), chat_instance: anyText, data: anyText }) }),
    );
    await fc.assert(
      fc.asyncProperty(update, fc.boolean(), fc.boolean(), async (body, withSecret, asText) => {
        const before = await stored();
        const res = await fetch(`${t.app.url}/telegram/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(withSecret ? { 'x-telegram-bot-api-secret-token': SECRET } : {}) },
          body: asText ? JSON.stringify(body).slice(1) : JSON.stringify(body), // asText: broken JSON
        });
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
        if (!withSecret) expect(await stored()).toBe(before);
      }),
      { numRuns: 120 },
    );
  }, 180_000);
});
