import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { CAMERA_MODEL, phonePhoto } from '../support/images.js';
import { TelegramDriver } from '../support/telegram-driver.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { waitFor } from '../support/wait.js';
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

  it('sends to exactly one building, holds 活动 (with its photo) through quiet hours, 应急 at once, counts 收到, and keeps a grid worker to their grid', async () => {
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
    const poster = await phonePhoto({ width: 640, height: 480 });
    await noticeStory(cast, t.town, { quietEndsAt: quiet.endsAt, timeoutMs: 15_000, photo: poster });

    // The secretary's photo reaches the resident as a Telegram photo (sendPhoto), once, through the
    // case photo pipeline: re-encoded without its Exif (camera, GPS). The neighbour gets none.
    const photosOf = (d: TelegramDriver) => d.messages().filter((m) => m.method === 'sendPhoto');
    await waitFor(async () => photosOf(cast.resident).length > 0, 'the notice photo', 10_000);
    const photos = photosOf(cast.resident);
    expect(photos).toHaveLength(1);
    const bytes = photos[0]!.photoBytes!;
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(bytes.includes(CAMERA_MODEL)).toBe(false);
    expect(bytes.equals(poster)).toBe(false);
    expect(photosOf(cast.neighbour)).toHaveLength(0);

    // The 收到 button is a real inline button with short callback data; once pressed it is taken
    // off the message (a choice answered is no longer offered).
    const sent = emulator.callsOf('sendMessage', 9002).find((c) => String(c.params.text).includes('燃气泄漏'))!;
    const markup = (typeof sent.params.reply_markup === 'string' ? JSON.parse(sent.params.reply_markup) : sent.params.reply_markup) as { inline_keyboard?: { text: string }[][] };
    expect(markup.inline_keyboard?.flat().map((b) => b.text)).toEqual([zh.notices.received]);
    const notice = cast.resident.messages().find((m) => m.text.includes('燃气泄漏'))!;
    expect(notice.reply_markup).toBeUndefined();
  }, 120_000);
});
