import { describe, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { telegramApp } from '../support/channel-apps.js';
import { TelegramDriver } from '../support/telegram-driver.js';
import { consultationStory } from './consultation-script.js';
import { bindStaff, inviteFor, onboard } from './notice-script.js';

const zh = messages('zh-CN');

describe('consultations end to end through the Telegram Bot API emulator', () => {
  const app = telegramApp({ NOTICE_QUIET_HOURS: '00:00-00:00' });

  it('propose, support, create from the topic, vote, change, close by the timer, publish, look up the receipt, verify', async () => {
    const { t, emulator } = app;
    const cast = { secretary: new TelegramDriver(emulator, 9101), resident: new TelegramDriver(emulator, 9102), neighbour: new TelegramDriver(emulator, 9103) };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', 15_000),
      onboard(cast.resident, t.town.inviteCode, 15_000),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.households[1]!.id), 15_000),
    ]);
    await consultationStory(cast, t.app, { timeoutMs: 20_000 });
  }, 180_000);
});
