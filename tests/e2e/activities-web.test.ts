import { describe, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { webApp } from '../support/channel-apps.js';
import { WebChatDriver } from '../support/web-driver.js';
import { activityStory } from './activity-script.js';
import { bindStaff, inviteFor, onboard } from './notice-script.js';

const zh = messages('zh-CN');

describe('幸福学堂 and volunteers end to end in the web chat (headless Chromium)', () => {
  const app = webApp({ NOTICE_QUIET_HOURS: '00:00-00:00' });

  it('creates a series, signs up, fills, waits, offers, confirms, checks in, rates; a volunteer’s confirmed hours reach the ledger', async () => {
    const { t, browser } = app;
    const open = () => WebChatDriver.open(browser, t.app.url);
    const cast = { secretary: await open(), first: await open(), second: await open(), volunteer: await open() };
    const h = t.town.households;
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', 20_000),
      onboard(cast.first, await inviteFor(t.app.database, h[0]!.id), 20_000),
      onboard(cast.second, await inviteFor(t.app.database, h[1]!.id), 20_000),
      onboard(cast.volunteer, await inviteFor(t.app.database, h[2]!.id), 20_000),
    ]);
    await activityStory(cast, t.town, t.app.database, { timeoutMs: 20_000 });
    for (const d of Object.values(cast)) await d.close();
  }, 240_000);
});
