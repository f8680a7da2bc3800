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
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, `${t.town.street.name} · ${t.town.community.name}`, 15_000),
      onboard(cast.resident, t.town.inviteCode, 15_000),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.otherHousehold.id), 15_000),
      bindStaff(cast.otherWorker, t.town.staffCodes.otherGridWorker, zh.staff.role_grid_worker, `${t.town.street.name} · ${t.town.community.name} · ${t.town.otherGrid.name}`, 15_000),
    ]);
    await noticeStory(cast, t.town, { quietEndsAt: quiet.endsAt, timeoutMs: 15_000 });

    // 收到 was pressed as a real inline button (the driver presses only a button it was sent, by its
    // callback data); once pressed, the adapter takes the keyboard off the notice (bots/telegram).
    const notice = cast.resident.messages().find((m) => m.text.includes('燃气泄漏'))!;
    expect(notice.text).toContain(zh.notices.ackHint);
    expect(notice.reply_markup).toBeUndefined();
  }, 120_000);
});
