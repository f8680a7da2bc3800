import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { describe, expect, it } from 'vitest';
import { messages } from '../../src/i18n/index.js';
import { WECHAT_TYPES } from '../../bots/wechat/inbound.js';
import { wechatApp } from '../support/channel-apps.js';
import { phonePhoto } from '../support/images.js';
import { waitFor } from '../support/wait.js';
import { bindStaff, composeToBuilding, inviteFor, noticeStory, onboard, quietHoursEndingIn } from './notice-script.js';

const zh = messages('zh-CN');
/** WeChat replies are paced at 1/s per chat, so answers can queue up behind each other. */
const WAIT = 30_000;

describe('notices end to end through wechaty-puppet-mock', () => {
  const quiet = quietHoursEndingIn(100);
  const app = wechatApp({ NOTICE_QUIET_HOURS: quiet.env });

  it('sends to exactly one building, holds 活动 (with its photo) through quiet hours, 应急 at once, counts a numbered 收到 (never a number a flow is using), and keeps a grid worker to their grid', async () => {
    const { t } = app;
    const contact = app.contact;
    const cast = { secretary: contact('社区书记'), resident: contact('居民甲'), neighbour: contact('邻楼居民'), otherWorker: contact('二网格员') };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', WAIT),
      onboard(cast.resident, t.town.inviteCode, WAIT),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.otherHousehold.id), WAIT),
      bindStaff(cast.otherWorker, t.town.staffCodes.otherGridWorker, zh.staff.role_grid_worker, '民主街道 · 幸福社区 · 第二网格', WAIT),
    ]);
    await noticeStory(cast, t.town, { quietEndsAt: quiet.endsAt, timeoutMs: WAIT, photo: await phonePhoto({ width: 640, height: 480 }) });
    // The 活动 notice's photo arrives as a WeChat picture, once; the neighbour gets none.
    const pictures = (d: typeof cast.resident) => d.inbox.filter((m) => m.payload.type === WECHAT_TYPES.Image);
    await waitFor(async () => pictures(cast.resident).length > 0, 'the notice photo on WeChat', WAIT);
    expect(pictures(cast.resident)).toHaveLength(1);
    expect(pictures(cast.neighbour)).toHaveLength(0);
    // The notice's 收到 was numbered on after the menu the resident had: their number counted it.
    const notice = cast.resident.inbox.find((m) => m.text.includes('燃气泄漏'))!;
    const ackLine = new RegExp(`^(\\d+)\\. ${zh.notices.received}$`, 'm');
    expect(Number(ackLine.exec(notice.text)?.[1])).toBeGreaterThan(1);

    // …so the menu's numbers still answer the menu, and in the middle of a report a notice's
    // number never takes the report's: "1" is still the first category.
    const { resident, secretary } = cast;
    await resident.choose(zh.cases.menuReport);
    await resident.expectMessage(zh.cases.pickCategory, WAIT);
    await secretary.sendText('菜单');
    await secretary.expectMessage(zh.dialog.menuTitle, WAIT);
    await composeToBuilding(secretary, { category: zh.notices.category_emergency, title: '停水抢修', body: '3号楼今晚停水抢修，请提前储水。', quiet: false }, WAIT);
    const busy = await resident.expectMessage('停水抢修', WAIT);
    const ack = Number(ackLine.exec(busy)?.[1]);
    expect(ack).toBeGreaterThan(1);
    // Its number confirms it and leaves the resident at the report's question…
    await resident.sendText(String(ack));
    await resident.expectMessage(zh.notices.thanksRead, WAIT);
    await resident.sendText('1');
    await resident.expectMessage(zh.cases.askDescription, WAIT);
  }, 300_000);
});
