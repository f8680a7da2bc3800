import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TelegramDriver } from '../support/telegram-driver.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { bindStaff, inviteFor, noticeStory, onboard, quietHoursEndingIn } from './notice-script.js';

const TOKEN = '123456:TEST-token';
const zh = messages('zh-CN');

describe('notices end to end through the Telegram Bot API emulator', () => {
  let emulator: TelegramEmulator;
  let t: TestApp;
  const quiet = quietHoursEndingIn(60);

  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
    t = await startTestApp({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: emulator.url, NOTICE_QUIET_HOURS: quiet.env }, { queue: 'redis' });
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });

  it('sends to exactly one building, holds 活动 through quiet hours, 应急 at once, counts 收到, and keeps a grid worker to their grid', async () => {
    const cast = {
      secretary: new TelegramDriver(emulator, 9001),
      resident: new TelegramDriver(emulator, 9002),
      neighbour: new TelegramDriver(emulator, 9003),
      otherWorker: new TelegramDriver(emulator, 9004),
    };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', 15_000),
      onboard(cast.resident, t.town.inviteCode, 15_000),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.otherHousehold.id), 15_000),
      bindStaff(cast.otherWorker, t.town.staffCodes.otherGridWorker, zh.staff.role_grid_worker, '民主街道 · 幸福社区 · 第二网格', 15_000),
    ]);
    await noticeStory(cast, t.town, { quietEndsAt: quiet.endsAt, timeoutMs: 15_000 });

    // The 收到 button is a real inline button with short callback data; once pressed it is taken
    // off the message (a choice answered is no longer offered).
    const sent = emulator.callsOf('sendMessage', 9002).find((c) => String(c.params.text).includes('燃气泄漏'))!;
    const markup = (typeof sent.params.reply_markup === 'string' ? JSON.parse(sent.params.reply_markup) : sent.params.reply_markup) as { inline_keyboard?: { text: string }[][] };
    expect(markup.inline_keyboard?.flat().map((b) => b.text)).toEqual([zh.notices.received]);
    const notice = cast.resident.messages().find((m) => m.text.includes('燃气泄漏'))!;
    expect(notice.reply_markup).toBeUndefined();
  }, 120_000);
});
