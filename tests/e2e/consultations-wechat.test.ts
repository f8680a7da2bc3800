import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { describe, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { wechatApp } from '../support/channel-apps.js';
import { consultationStory } from './consultation-script.js';
import { bindStaff, inviteFor, onboard } from './notice-script.js';

const zh = messages('zh-CN');
/** WeChat replies are paced at 1/s per chat, so answers can queue up behind each other. */
const WAIT = 30_000;

describe('consultations end to end through wechaty-puppet-mock (numbered replies)', () => {
  const app = wechatApp({ NOTICE_QUIET_HOURS: '00:00-00:00' });

  it('propose, support, create from the topic, vote, change, close by the timer, publish, look up the receipt, verify', async () => {
    const { t } = app;
    const contact = app.contact;
    const cast = { secretary: contact('社区书记'), resident: contact('居民甲'), neighbour: contact('居民乙') };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', WAIT),
      onboard(cast.resident, t.town.inviteCode, WAIT),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.households[1]!.id), WAIT),
    ]);
    await consultationStory(cast, t.app, { timeoutMs: WAIT });
  }, 300_000);
});
