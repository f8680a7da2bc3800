import { afterAll, beforeAll, describe, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TelegramDriver } from '../support/telegram-driver.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { consultationStory } from './consultation-script.js';
import { bindStaff, inviteFor, onboard } from './notice-script.js';

const TOKEN = '123456:TEST-token';
const zh = messages('zh-CN');

describe('consultations end to end through the Telegram Bot API emulator', () => {
  let emulator: TelegramEmulator;
  let t: TestApp;

  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
    t = await startTestApp({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: emulator.url, NOTICE_QUIET_HOURS: '00:00-00:00' }, { queue: 'redis' });
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });

  it('propose, support, create from the topic, vote, change, close by the timer, publish, look up the receipt, verify', async () => {
    const cast = { secretary: new TelegramDriver(emulator, 9101), resident: new TelegramDriver(emulator, 9102), neighbour: new TelegramDriver(emulator, 9103) };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', 15_000),
      onboard(cast.resident, t.town.inviteCode, 15_000),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.households[1]!.id), 15_000),
    ]);
    await consultationStory(cast, t.app, { timeoutMs: 20_000 });
  }, 180_000);
});
