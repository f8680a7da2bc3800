import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { WechatEmulator, type WechatDriver } from '../support/wechat-driver.js';
import { bindStaff, composeToBuilding, inviteFor, noticeStory, onboard, quietHoursEndingIn } from './notice-script.js';

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

  it('sends to exactly one building, holds 活动 through quiet hours, 应急 at once, counts a numbered 收到 (a typed one mid-flow), and keeps a grid worker to their grid', async () => {
    const cast = { secretary: contact('社区书记'), resident: contact('居民甲'), neighbour: contact('邻楼居民'), otherWorker: contact('二网格员') };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', WAIT),
      onboard(cast.resident, t.town.inviteCode, WAIT),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.otherHousehold.id), WAIT),
      bindStaff(cast.otherWorker, t.town.staffCodes.otherGridWorker, zh.staff.role_grid_worker, '民主街道 · 幸福社区 · 第二网格', WAIT),
    ]);
    await noticeStory(cast, t.town, { quietEndsAt: quiet.endsAt, timeoutMs: WAIT });
    // The resident was idle when it came, so the notice offered "1. 收到" and their "1" counted it.
    const notice = cast.resident.inbox.find((m) => m.text.includes('燃气泄漏'))!;
    expect(notice.text).toMatch(new RegExp(`^1\\. ${zh.notices.received}$`, 'm'));

    // In the middle of a report a notice must not take the number keys: it asks for a typed 收到,
    // and the resident's "1" still answers the report's own question.
    const { resident, secretary } = cast;
    // (The number keys now answer the notice, so the menu is asked for first.)
    await resident.sendText('菜单');
    await resident.expectMessage(zh.dialog.menuTitle, WAIT);
    await resident.choose(zh.cases.menuReport);
    await resident.expectMessage(zh.cases.pickCategory, WAIT);
    await secretary.sendText('菜单');
    await secretary.expectMessage(zh.dialog.menuTitle, WAIT);
    await composeToBuilding(secretary, { category: zh.notices.category_emergency, title: '停水抢修', body: '3号楼今晚停水抢修，请提前储水。', quiet: false }, WAIT);
    const busy = await resident.expectMessage('停水抢修', WAIT);
    expect(busy).toContain(zh.notices.ackReply);
    expect(busy).not.toMatch(/^\d+\. /m);
    await resident.sendText('1');
    await resident.expectMessage(zh.cases.askDescription, WAIT);
    await resident.sendText('收到');
    await resident.expectMessage(zh.notices.thanksRead, WAIT);
  }, 300_000);
});
