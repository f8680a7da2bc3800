import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { WechatEmulator, type WechatDriver } from '../support/wechat-driver.js';
import { bindStaff, inviteFor, noticeStory, onboard, quietHoursEndingIn } from './notice-script.js';

const zh = messages('zh-CN');
/** WeChat replies are paced at 1/s per chat, so answers can queue up behind each other. */
const WAIT = 30_000;

describe('notices end to end through wechaty-puppet-mock', () => {
  let t: TestApp;
  let wx: WechatEmulator;
  const drivers: WechatDriver[] = [];
  const contact = (name: string) => {
    const d = wx.contact(name);
    drivers.push(d);
    return d;
  };
  const quiet = quietHoursEndingIn(100);

  beforeAll(async () => {
    wx = new WechatEmulator('邻里');
    t = await startTestApp({ WECHATY_PUPPET: 'wechaty-puppet-mock', NOTICE_QUIET_HOURS: quiet.env }, { queue: 'redis', wechatPuppet: wx.puppet });
    await wx.loggedIn();
  });
  afterAll(async () => {
    for (const d of drivers) await d.close();
    await t?.stop();
    wx?.stop();
  });

  it('sends to exactly one building, holds 活动 through quiet hours, 应急 at once, counts a typed 收到, and keeps a grid worker to their grid', async () => {
    const cast = { secretary: contact('社区书记'), resident: contact('居民甲'), neighbour: contact('邻楼居民'), otherWorker: contact('二网格员') };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', WAIT),
      onboard(cast.resident, t.town.inviteCode, WAIT),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.otherHousehold.id), WAIT),
      bindStaff(cast.otherWorker, t.town.staffCodes.otherGridWorker, zh.staff.role_grid_worker, '民主街道 · 幸福社区 · 第二网格', WAIT),
    ]);
    await noticeStory(cast, t.town, { quietEndsAt: quiet.endsAt, timeoutMs: WAIT });
    // No numbered 收到 line on WeChat (a bare number answers the chat's own last choices): the
    // notice asks for a typed 收到.
    const notice = cast.resident.inbox.find((m) => m.text.includes('燃气泄漏'))!;
    expect(notice.text).toContain(zh.notices.ackReply);
    expect(notice.text).not.toMatch(/^\d+\. /m);
  }, 240_000);
});
