import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { waitFor } from '../support/wait.js';

const TOKEN = '123456:SECRET-bot-token-do-not-log';
const SECRET = 'webhook-secret-0123456789';
const zh = messages('zh-CN');

/** Every log line the app writes, as text. */
function capturedLogs() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) }, text: () => lines.join('') };
}

const webhookEnv = (apiRoot: string) => ({
  TELEGRAM_BOT_TOKEN: TOKEN,
  TELEGRAM_API_ROOT: apiRoot,
  TELEGRAM_WEBHOOK_URL: 'https://linli.example.org/telegram/webhook',
  TELEGRAM_WEBHOOK_SECRET: SECRET,
});

const post = (url: string, body: unknown, secret?: string) =>
  fetch(`${url}/telegram/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
    body: JSON.stringify(body),
  });

describe('the Telegram webhook when the Bot API cannot be reached', () => {
  let t: TestApp;
  const logs = capturedLogs();
  let closedPort: number;
  beforeAll(async () => {
    // A port that was free a moment ago: connections to it are refused.
    closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    t = await startTestApp(webhookEnv(`http://127.0.0.1:${closedPort}`), { logTo: logs.destination });
  });
  afterAll(async () => t?.stop());

  it('refuses a caller without the secret at once, and answers one with it 503 instead of hanging', async () => {
    expect((await post(t.app.url, { update_id: 1 })).status).toBe(401);
    expect((await post(t.app.url, { update_id: 1 }, 'wrong-secret-wrong-secret')).status).toBe(401);
    expect((await post(t.app.url, { update_id: 1 }, SECRET)).status).toBe(503);
  });

  it('logs the failing start with its reason, without the token', async () => {
    await waitFor(async () => logs.text().includes('channel failed to start'), 'the start-up failure in the log');
    const line = logs.lines.find((l) => l.includes('channel failed to start'))!;
    expect(line).toMatch(/getMe/);
    expect(line).toMatch(/ECONNREFUSED/);
    expect(logs.text()).not.toContain(TOKEN);
    expect(logs.text()).not.toContain(TOKEN.split(':')[1]);
  });
});

describe('a webhook update whose handling fails', () => {
  let emulator: TelegramEmulator;
  let t: TestApp;
  const logs = capturedLogs();
  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
    t = await startTestApp(webhookEnv(emulator.url), { logTo: logs.destination });
    await waitFor(async () => !!emulator.webhook, 'the webhook to be registered');
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });

  it('is logged with its id only (no token, no message text), answered 503 so Telegram retries, and handled on the retry', async () => {
    const update = emulator.webhookTextUpdate(8101, '我的电话 13800138000');
    // The database refuses every statement on inbound messages, as in an outage.
    await t.app.database.sql`alter table inbound_messages rename to inbound_messages_away`;
    let status: number;
    try {
      status = (await post(t.app.url, update, SECRET)).status;
    } finally {
      await t.app.database.sql`alter table inbound_messages_away rename to inbound_messages`;
    }
    expect(status).toBe(503);
    const text = logs.text();
    expect(text).toContain('update not stored');
    expect(text).toContain(`"updateId":${update.update_id}`);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(TOKEN.split(':')[1]);
    expect(text).not.toContain('13800138000');
    // Telegram sends it again: nothing was lost.
    expect((await post(t.app.url, update, SECRET)).status).toBe(200);
    await waitFor(async () => emulator.sentTo(8101).length > 0, 'the reply to the retried update');
    expect(emulator.sentTo(8101)[0]!.text).toBe(zh.onboarding.welcome);
  });

  it('answers a body that is not JSON with 400, not 500', async () => {
    const res = await fetch(`${t.app.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      body: '{not json',
    });
    expect(res.status).toBe(400);
  });
});
