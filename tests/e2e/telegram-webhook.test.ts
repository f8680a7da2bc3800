import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundMessages } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';

const TOKEN = '123456:TEST-token';
const SECRET = 'webhook-secret-0123456789';
const zh = messages('zh-CN');

describe('Telegram in webhook mode', () => {
  let emulator: TelegramEmulator;
  let t: TestApp;
  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
    t = await startTestApp({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: emulator.url,
      TELEGRAM_WEBHOOK_URL: 'https://linli.example.org/telegram/webhook',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    });
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });

  const post = (body: unknown, secret?: string) =>
    fetch(`${t.app.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
      body: JSON.stringify(body),
    });
  const stored = async () => (await t.app.database.db.select({ n: count() }).from(inboundMessages).where(eq(inboundMessages.channel, 'telegram')))[0]!.n;

  it('registers the webhook with its secret instead of polling', async () => {
    const deadline = Date.now() + 10_000;
    while (!emulator.webhook && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(emulator.webhook).toMatchObject({ url: 'https://linli.example.org/telegram/webhook', secret_token: SECRET });
    expect(emulator.callsOf('getUpdates')).toHaveLength(0);
  });

  it('answers an update that carries the secret, once even when Telegram posts it twice', async () => {
    const update = emulator.webhookTextUpdate(7001, '你好');
    expect((await post(update, SECRET)).status).toBe(200);
    expect((await post(update, SECRET)).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (emulator.sentTo(7001).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    expect(emulator.sentTo(7001).map((m) => m.text)).toEqual([zh.onboarding.welcome]);
  });

  it('refuses a caller without the secret and stores nothing', async () => {
    const before = await stored();
    expect((await post(emulator.webhookTextUpdate(7002, '你好'))).status).toBe(401);
    expect((await post(emulator.webhookTextUpdate(7002, '你好'), 'wrong-secret-wrong-secret')).status).toBe(401);
    expect(await stored()).toBe(before);
    expect(emulator.sentTo(7002)).toHaveLength(0);
  });
});
