import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import type { Update } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, channelIdentities, consents, inboundMessages, outbox } from '../../db/schema/index.js';
import { createTelegramAdapter } from '../../bots/telegram/index.js';
import { toInboundEvent } from '../../bots/telegram/inbound.js';
import { createJobs } from '../../jobs/producer.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { queueMessages } from '../../src/outbox/outbox.js';
import { createFolderStore, storePhoto } from '../../src/photos/store.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TelegramDriver } from '../support/telegram-driver.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { jpegWithExif } from '../support/images.js';
import { residentOnboarding, staffBinding } from './onboarding-script.js';

const TOKEN = '123456:TEST-token';
const zh = messages('zh-CN');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function startWithEmulator(queue: 'redis' | 'postgres') {
  const emulator = await TelegramEmulator.start({ token: TOKEN });
  const t = await startTestApp({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: emulator.url }, { queue });
  return { emulator, t };
}

describe('Telegram end to end through a Bot API emulator (BullMQ on Redis)', () => {
  let emulator: TelegramEmulator;
  let t: TestApp;
  beforeAll(async () => {
    ({ emulator, t } = await startWithEmulator('redis'));
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });

  const identity = async (userId: number) => {
    const [row] = await t.app.database.db
      .select()
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, 'telegram'), eq(channelIdentities.userRef, String(userId))));
    return row;
  };

  it('starts like a bot should: getMe, its commands, no webhook, then long polling', async () => {
    await until('a getUpdates call', () => emulator.callsOf('getUpdates').length > 0);
    const methods = emulator.calls.map((c) => c.method);
    expect(methods).toContain('getMe');
    expect(methods).toContain('deleteWebhook');
    expect(methods.indexOf('deleteWebhook')).toBeLessThan(methods.indexOf('getUpdates'));
    expect(emulator.commands).toEqual(expect.arrayContaining([expect.objectContaining({ command: 'mydata' }), expect.objectContaining({ command: 'lang' })]));
    const poll = emulator.callsOf('getUpdates')[0]!;
    expect(poll.params.allowed_updates).toEqual(['message', 'callback_query']);
    expect(Number(poll.params.timeout)).toBeGreaterThan(0);
  });

  it('carries the resident onboarding script', async () => {
    await residentOnboarding(new TelegramDriver(emulator, 5001, { languageCode: 'zh-hans' }), t.town);
  }, 120_000);

  it('binds a grid worker with a one-time staff code', async () => {
    await staffBinding(new TelegramDriver(emulator, 5002), t.town);
  }, 60_000);

  it('offers choices as inline keyboard buttons and answers the button press', async () => {
    const chat = new TelegramDriver(emulator, 5003);
    await chat.sendText('你好');
    await chat.expectMessage(zh.onboarding.welcome);
    const welcome = chat.messages().find((m) => m.text.includes(zh.onboarding.welcome))!;
    const buttons = welcome.reply_markup?.inline_keyboard?.flat() ?? [];
    expect(buttons.map((b) => b.text)).toEqual(expect.arrayContaining(['简体中文', 'English']));
    for (const b of buttons) {
      expect(b.callback_data).toBeTruthy();
      expect(Buffer.byteLength(b.callback_data!)).toBeLessThanOrEqual(64);
    }

    await chat.choose('简体中文');
    const pressed = chat.lastUpdate!;
    await chat.expectMessage(zh.onboarding.privacyNotice.slice(0, 12));
    const privacy = chat.messages().at(-1)!;
    const labels = (privacy.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);
    expect(labels).toEqual([zh.onboarding.agree, zh.onboarding.decline]);
    // The press was answered (Telegram shows a spinner on the button until it is).
    await emulator.waitConfirmed(pressed);
    expect(emulator.callsOf('answerCallbackQuery').length).toBeGreaterThan(0);
    expect(emulator.callsOf('answerCallbackQuery').every((c) => c.errorCode === 0)).toBe(true);
    // …and its keyboard taken off, so the old choice cannot be pressed again.
    const edited = emulator.callsOf('editMessageReplyMarkup').filter((c) => Number(c.params.message_id) === welcome.message_id);
    expect(edited.length).toBeGreaterThan(0);
    expect(edited.every((c) => c.errorCode === 0)).toBe(true);
    expect(chat.messages().find((m) => m.message_id === welcome.message_id)!.reply_markup).toBeUndefined();
  }, 60_000);

  it('handles the same update delivered three times once', async () => {
    const chat = new TelegramDriver(emulator, 5004);
    await chat.sendText('你好');
    const hello = chat.lastUpdate!;
    await chat.expectMessage(zh.onboarding.welcome);
    for (let i = 0; i < 2; i++) {
      await emulator.waitConfirmed(hello);
      emulator.redeliver(hello);
    }
    await emulator.waitConfirmed(hello);

    // A press with a lasting effect (the consent row), delivered three times.
    await chat.choose('简体中文');
    await chat.expectMessage(zh.onboarding.privacyNotice.slice(0, 12));
    await chat.choose(zh.onboarding.agree);
    const agree = chat.lastUpdate!;
    await chat.expectMessage(zh.onboarding.consentThanks);
    for (let i = 0; i < 2; i++) {
      await emulator.waitConfirmed(agree);
      emulator.redeliver(agree);
    }
    await emulator.waitConfirmed(agree);
    const settled = (await chat.received()).length;
    await sleep(2000);

    const texts = await chat.received();
    expect(texts.length).toBe(settled);
    expect(texts.filter((x) => x.includes(zh.onboarding.welcome))).toHaveLength(1);
    expect(texts.filter((x) => x.includes(zh.onboarding.consentThanks))).toHaveLength(1);
    const db = t.app.database.db;
    const me = await identity(5004);
    expect(await db.select().from(consents).where(eq(consents.personId, me!.personId))).toHaveLength(1);
    expect(await db.select().from(auditLog).where(and(eq(auditLog.action, 'consent.grant'), eq(auditLog.subjectId, me!.personId)))).toHaveLength(1);
    for (const ref of [`u${hello}`, `u${agree}`]) {
      expect(await db.select().from(inboundMessages).where(and(eq(inboundMessages.channel, 'telegram'), eq(inboundMessages.messageRef, ref)))).toHaveLength(1);
    }
    const [{ n }] = (await db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(eq(outbox.identityId, me!.id))) as [{ n: number }];
    expect(n).toBe(texts.length);
  }, 60_000);

  it('waits as long as a 429 retry_after says, then delivers the message once', async () => {
    const chat = new TelegramDriver(emulator, 5005);
    emulator.failNext('sendMessage', { error_code: 429, retry_after: 2 }, { chatId: 5005 });
    await chat.sendText('你好');
    await chat.expectMessage(zh.onboarding.welcome, 30_000);
    const attempts = emulator.callsOf('sendMessage', 5005);
    expect(attempts.map((a) => a.errorCode)).toEqual([429, 0]);
    // Not sooner than Telegram asked (the job is delayed by retry_after; a little clock slack allowed).
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1900);

    await sleep(1500);
    expect((await chat.received()).filter((x) => x.includes(zh.onboarding.welcome))).toHaveLength(1);
    const me = await identity(5005);
    const rows = await t.app.database.db.select().from(outbox).where(eq(outbox.identityId, me!.id));
    expect(rows.map((r) => r.status)).toEqual(['sent']);
    expect(rows[0]!.sentRef).toBe(String(chat.messages()[0]!.message_id));
  }, 60_000);

  it('resumes a reply with a photo after a 429 on its text: the photo once, then the text once', async () => {
    const chat = new TelegramDriver(emulator, 5007);
    await chat.sendText('你好');
    await chat.expectMessage(zh.onboarding.welcome);
    const me = (await identity(5007))!;
    // A resolution photo as a case command sends it: stored in the app's photo store, named in the reply.
    const photos = createFolderStore(path.join(t.dataDir, 'photos'));
    const { key } = await storePhoto(photos, await jpegWithExif());
    const reply = {
      locale: 'zh-CN' as const,
      text: '楼道灯已修好',
      media: [{ kind: 'photo' as const, fileRef: key, caption: '维修后' }],
      choices: [{ id: 'cr:test:s', label: zh.cases.rate_satisfied }],
    };
    emulator.failNext('sendMessage', { error_code: 429, retry_after: 1 }, { chatId: 5007 });
    const db = t.app.database.db;
    const queued = await db.transaction((tx) => queueMessages(tx, [{ to: { identityId: me.id, channel: 'telegram', chatRef: me.chatRef }, reply }]));
    const jobs = createJobs(t.app.backend);
    await jobs.delivery.enqueue(queued);
    await jobs.close();

    const row = await until('the row to be sent', async () => {
      const [r] = await db.select().from(outbox).where(eq(outbox.id, queued[0]!.outboxId));
      return r?.status === 'sent' ? r : undefined;
    }, 30_000);
    // Every call of the row's last attempt came before it was marked sent, so the count is final.
    expect(emulator.callsOf('sendPhoto', 5007).map((c) => c.errorCode)).toEqual([0]);
    const textCalls = emulator.callsOf('sendMessage', 5007).filter((c) => c.params.text === reply.text);
    expect(textCalls.map((c) => c.errorCode)).toEqual([429, 0]);
    expect(textCalls[1]!.at - textCalls[0]!.at).toBeGreaterThanOrEqual(900);
    const delivered = chat.messages().filter((m) => m.method === 'sendPhoto' || m.text === reply.text);
    expect(delivered.map((m) => [m.method, m.text])).toEqual([
      ['sendPhoto', '维修后'],
      ['sendMessage', reply.text],
    ]);
    expect(delivered[0]!.photoBytes!.equals((await photos.get(key)).bytes)).toBe(true);
    expect(delivered[1]!.reply_markup?.inline_keyboard?.flat().map((b) => b.callback_data)).toEqual(['cr:test:s']);
    // The photo was recorded as sent before the 429; the row is sent once, the text's id kept.
    expect(row).toMatchObject({ partsSent: 1, attempts: 1, sentRef: String(delivered[1]!.message_id), lastError: null });
  }, 60_000);

  it('marks a person who blocked the bot, stops sending, and resumes when they write again', async () => {
    const chat = new TelegramDriver(emulator, 5006);
    emulator.failNext('sendMessage', { error_code: 403, description: 'Forbidden: bot was blocked by the user' }, { chatId: 5006 });
    await chat.sendText('你好');
    const blocked = await until('the identity to be marked blocked', async () => ((await identity(5006))?.blockedAt ? await identity(5006) : undefined));
    expect(blocked.blockedAt).toBeInstanceOf(Date);

    const rows = await until('the outbox row to be marked blocked', async () => {
      const r = await t.app.database.db.select().from(outbox).where(eq(outbox.identityId, blocked.id));
      return r.length && r.every((x) => x.status === 'blocked') ? r : undefined;
    });
    expect(rows[0]!.lastError).toContain('blocked by the user');
    // Several outbox sweeps (every 500 ms in tests) later, nothing was tried again.
    await sleep(3000);
    expect(emulator.callsOf('sendMessage', 5006).map((c) => c.errorCode)).toEqual([403]);
    expect(chat.messages()).toHaveLength(0);
    const after = await t.app.database.db.select().from(outbox).where(eq(outbox.identityId, blocked.id));
    expect(after.map((r) => r.status)).toEqual(['blocked']);

    // Writing again means they unblocked us: they get an answer and the mark is cleared.
    await chat.sendText('你好');
    await chat.expectMessage(zh.onboarding.welcome);
    expect((await identity(5006))!.blockedAt).toBeNull();
  }, 60_000);
});

describe('Telegram end to end through a Bot API emulator (BullMQ on PostgreSQL)', () => {
  let emulator: TelegramEmulator;
  let t: TestApp;
  beforeAll(async () => {
    ({ emulator, t } = await startWithEmulator('postgres'));
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });

  it('carries the resident onboarding script and staff binding', async () => {
    await residentOnboarding(new TelegramDriver(emulator, 6001), t.town);
    await staffBinding(new TelegramDriver(emulator, 6002), t.town);
  }, 150_000);
});

describe('Telegram photos through the Bot API emulator', () => {
  let emulator: TelegramEmulator;
  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
  });
  afterAll(async () => emulator?.close());

  const adapter = () =>
    createTelegramAdapter(
      { token: TOKEN, apiRoot: emulator.url, rate: { globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 } },
      {
        logger: createLogger('silent'),
        media: { load: async (ref) => ({ bytes: Buffer.from(`bytes of ${ref}`), mimeType: 'image/jpeg' }) },
      },
    );

  it('downloads a photo a person sent (getFile, then the file URL)', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const updateId = emulator.userSendsPhoto(7001, bytes, '楼道灯坏了');
    // The update as a poller gets it over HTTP, turned into our event by the adapter's own mapping.
    const res = await fetch(`${emulator.url}/bot${TOKEN}/getUpdates`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"timeout":0}' });
    const { result } = (await res.json()) as { result: Update[] };
    const event = toInboundEvent(result.find((u) => u.update_id === updateId)!);
    expect(event).toMatchObject({ kind: 'photo', caption: '楼道灯坏了', messageRef: `u${updateId}` });
    const media = await adapter().fetchMedia((event as { photo: { fileRef: string } }).photo.fileRef);
    expect(media.bytes.equals(bytes)).toBe(true);
    expect(media.mimeType).toBe('image/jpeg');
  });

  it('uploads reply photos as multipart before the text with its keyboard', async () => {
    emulator.userSendsText(7002, '你好');
    const result = await adapter().send('7002', {
      locale: 'zh-CN',
      text: '现场照片',
      choices: [{ id: 'case.ok', label: '已解决' }],
      media: [{ kind: 'photo', fileRef: 'a.jpg', caption: '维修后' }],
    });
    expect(result.ok).toBe(true);
    const [photo, text] = emulator.sentTo(7002);
    expect(photo).toMatchObject({ method: 'sendPhoto', text: '维修后' });
    expect(photo!.photoBytes!.toString()).toBe('bytes of a.jpg');
    expect(text).toMatchObject({ method: 'sendMessage', text: '现场照片', reply_markup: { inline_keyboard: [[{ text: '已解决', callback_data: 'case.ok' }]] } });
    expect(result).toEqual({ ok: true, sentRef: String(text!.message_id) });
  });

  it('resumes a reply after the parts earlier attempts sent, recording each part the API accepted', async () => {
    emulator.userSendsText(7003, '你好');
    const tg = adapter();
    const recorded: [number, string | undefined][] = [];
    const progress = {
      partsSent: 0,
      async partSent(n: number, sentRef?: string) {
        recorded.push([n, sentRef]);
        progress.partsSent = n;
        // Once the text is accepted, the location button's message is refused.
        if (n === 2) emulator.failNext('sendMessage', { error_code: 429, retry_after: 1 }, { chatId: 7003 });
      },
    };
    // Photo, text with its inline keyboard, then the location button on its own message.
    const reply = {
      locale: 'zh-CN' as const,
      text: '问题在哪里？',
      choices: [{ id: 'loc.home', label: '就在我家' }],
      requestLocation: true,
      media: [{ kind: 'photo' as const, fileRef: 'b.jpg' }],
    };
    emulator.failNext('sendMessage', { error_code: 429, retry_after: 2 }, { chatId: 7003 });
    expect(await tg.send('7003', reply, progress)).toEqual({ ok: false, retryAfterMs: 2000 });
    expect(await tg.send('7003', reply, progress)).toEqual({ ok: false, retryAfterMs: 1000 });
    // The last part is not recorded here: the delivery job marks the whole row sent instead.
    expect(await tg.send('7003', reply, progress)).toEqual({ ok: true, sentRef: undefined });

    const sent = emulator.sentTo(7003);
    expect(sent.map((m) => [m.method, m.text])).toEqual([
      ['sendPhoto', ''],
      ['sendMessage', reply.text],
      ['sendMessage', '📍'],
    ]);
    expect(sent[2]!.reply_markup?.keyboard?.[0]?.[0]?.request_location).toBe(true);
    expect(recorded).toEqual([
      [1, undefined],
      [2, String(sent[1]!.message_id)],
    ]);
    expect(emulator.callsOf('sendMessage', 7003).map((c) => c.errorCode)).toEqual([429, 0, 429, 0]);
  });
});
