import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities, inboundMessages } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TelegramDriver } from '../support/telegram-driver.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { caseLifecycle, escalationLadder, expectLadderRecorded, expectLifecycleRecorded } from './case-script.js';

const TOKEN = '123456:TEST-token';
const SCALE = 0.002;
const MAX_PHOTOS = 2;

describe('cases end to end through the Telegram Bot API emulator (BullMQ on Redis)', () => {
  let emulator: TelegramEmulator;
  let t: TestApp;
  // Different people: the grid worker is none of the leaders.
  let worker: TelegramDriver;

  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
    t = await startTestApp(
      {
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: emulator.url,
        // Urgent: 30 min to accept and 30 min per level become 3.6 s; normal accept 2 h → 14.4 s.
        CASE_DEADLINE_SCALE: String(SCALE),
        CASE_SWEEP_EVERY_MS: '1000',
        CASE_MAX_PHOTOS: String(MAX_PHOTOS),
      },
      { queue: 'redis' },
    );
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });

  const personOf = async (userId: number) => {
    const [row] = await t.app.database.db
      .select()
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, 'telegram'), eq(channelIdentities.userRef, String(userId))));
    expect(row).toBeDefined();
    return row!.personId;
  };

  it('carries a case from report to rating; the 确认提交 update delivered three times makes one case', async () => {
    const resident = new TelegramDriver(emulator, 8001);
    worker = new TelegramDriver(emulator, 8002);
    let press: number | undefined;
    const { number, photos } = await caseLifecycle(resident, worker, t.town, {
      maxPhotos: MAX_PHOTOS,
      // Telegram's at-least-once delivery: the same update (same update_id) handed out again after
      // the bot confirmed it, twice.
      redeliverSubmit: async () => {
        press = resident.lastUpdate!;
        for (let i = 0; i < 2; i++) {
          await emulator.waitConfirmed(press);
          emulator.redeliver(press);
        }
        await emulator.waitConfirmed(press);
      },
    });
    expect(photos).toBe(1);
    const db = t.app.database.db;
    // One inbound row for the update, however often it came; one case for the reporter.
    expect(await db.select().from(inboundMessages).where(and(eq(inboundMessages.channel, 'telegram'), eq(inboundMessages.messageRef, `u${press}`)))).toHaveLength(1);
    await expectLifecycleRecorded(db, number, { reporterId: await personOf(8001), workerId: await personOf(8002), photos });

    // The resident's photo went through getFile and the file download.
    expect(emulator.callsOf('getFile').length).toBeGreaterThan(0);
    // The location reply keyboard was taken away by the answer after the location step, which
    // still got its inline buttons (added by an edit).
    const removal = emulator.callsOf('sendMessage', 8001).find((c) => JSON.stringify(c.params.reply_markup ?? '').includes('remove_keyboard'));
    expect(removal?.params.text).toBe(messages('zh-CN').cases.askPriority);
    const added = emulator.callsOf('editMessageReplyMarkup', 8001).find((c) => JSON.stringify(c.params.reply_markup ?? '').includes(messages('zh-CN').cases.normal));
    expect(added?.errorCode).toBe(0);
  }, 120_000);

  it('climbs community → street → county on shortened deadlines until the county takes it over', async () => {
    const resident = new TelegramDriver(emulator, 8101);
    const secretary = new TelegramDriver(emulator, 8102);
    const street = new TelegramDriver(emulator, 8103);
    const county = new TelegramDriver(emulator, 8104);
    const { number } = await escalationLadder(resident, secretary, street, county, t.town, { maxPhotos: MAX_PHOTOS, gridWorker: worker });
    await expectLadderRecorded(t.app.database.db, number, { countyId: await personOf(8104), scale: SCALE });

    // The leaders' cards are real inline keyboards: 我来处理 / 改派网格 / 批示 with short callback data
    // (as sent: the pressed card's keyboard has been taken off since).
    const markupOf = (c: { params: Record<string, unknown> }) =>
      (typeof c.params.reply_markup === 'string' ? JSON.parse(c.params.reply_markup) : c.params.reply_markup) as { inline_keyboard?: { text: string; callback_data?: string }[][] } | undefined;
    const card = emulator.callsOf('sendMessage', 8104).find((c) => String(c.params.text).includes(number) && (markupOf(c)?.inline_keyboard?.flat().length ?? 0) === 3)!;
    expect(card).toBeDefined();
    for (const b of markupOf(card)!.inline_keyboard!.flat()) expect(Buffer.byteLength(b.callback_data!)).toBeLessThanOrEqual(64);
    expect(county.messages().find((m) => m.text === String(card.params.text))!.reply_markup).toBeUndefined();
  }, 120_000);
});
