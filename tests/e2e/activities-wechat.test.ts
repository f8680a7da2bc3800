import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { describe, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { wechatApp } from '../support/channel-apps.js';
import { activityStory } from './activity-script.js';
import { bindStaff, inviteFor, onboard } from './notice-script.js';

const zh = messages('zh-CN');
/** WeChat replies are paced at 1/s per chat, so answers can queue up behind each other. */
const WAIT = 30_000;

describe('幸福学堂 and volunteers end to end through wechaty-puppet-mock (numbered replies)', () => {
  const app = wechatApp({ NOTICE_QUIET_HOURS: '00:00-00:00' });

  it('creates a series, signs up, fills, waits, offers, confirms, checks in, rates; a volunteer’s confirmed hours reach the ledger', async () => {
    const { t } = app;
    const contact = app.contact;
    const cast = { secretary: contact('社区书记'), first: contact('居民甲'), second: contact('居民乙'), volunteer: contact('志愿者丙') };
    const h = t.town.households;
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', WAIT),
      onboard(cast.first, await inviteFor(t.app.database, h[0]!.id), WAIT),
      onboard(cast.second, await inviteFor(t.app.database, h[1]!.id), WAIT),
      onboard(cast.volunteer, await inviteFor(t.app.database, h[2]!.id), WAIT),
    ]);
    await activityStory(cast, t.town, t.app.database, { timeoutMs: WAIT });
  }, 300_000);
});
