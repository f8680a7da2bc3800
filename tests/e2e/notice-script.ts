import { expect } from 'vitest';
import type { Database } from '../../db/client.js';
import { messages } from '../../src/i18n/index.js';
import { localClock } from '../../src/notices/rules.js';
import { issueHouseholdInvite } from '../../src/residents/invites.js';
import { TEST_CODE_SECRET } from '../support/db.js';
import type { ChatDriver } from '../support/chat-driver.js';
import { canSendPhoto } from './case-script.js';
import type { SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
const t = zh.notices;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Quiet hours that began an hour ago and end `seconds` from now (Asia/Shanghai), as
 * NOTICE_QUIET_HOURS: the real clock, a window short enough for a test to see it end.
 */
export function quietHoursEndingIn(seconds: number, now = new Date()): { env: string; endsAt: Date } {
  const sec = localClock(now, 'Asia/Shanghai').secOfDay;
  const hms = (s: number) => {
    const x = ((s % 86_400) + 86_400) % 86_400;
    return [Math.floor(x / 3600), Math.floor((x % 3600) / 60), x % 60].map((n) => String(n).padStart(2, '0')).join(':');
  };
  return { env: `${hms(sec - 3600)}-${hms(sec + seconds)}`, endsAt: new Date(now.getTime() + seconds * 1000) };
}

export async function inviteFor(database: Database, householdId: number): Promise<string> {
  return database.db.transaction(async (tx) => (await issueHouseholdInvite(tx, { householdId, maxUses: 10, key: TEST_CODE_SECRET })).code);
}

async function greet(chat: ChatDriver, timeoutMs: number) {
  await chat.sendText('你好');
  await chat.expectMessage(zh.onboarding.welcome, timeoutMs);
  await chat.choose('简体中文');
  await chat.expectMessage(zh.onboarding.privacyNotice.slice(0, 12), timeoutMs);
  await chat.choose(zh.onboarding.agree);
  await chat.expectMessage(zh.onboarding.consentThanks, timeoutMs);
}

export async function onboard(chat: ChatDriver, invite: string, timeoutMs: number) {
  await greet(chat, timeoutMs);
  await chat.choose(zh.onboarding.bindInvite);
  await chat.expectMessage(zh.onboarding.askInvite, timeoutMs);
  await chat.sendText(invite);
  await chat.expectMessage(zh.dialog.menuTitle, timeoutMs);
}

export async function bindStaff(chat: ChatDriver, code: string, role: string, area: string, timeoutMs: number) {
  await greet(chat, timeoutMs);
  await chat.choose(zh.onboarding.bindSkip);
  await chat.expectMessage(zh.onboarding.skipped, timeoutMs);
  await chat.sendText(`/staff ${code}`);
  await chat.expectMessage(zh.staff.bound({ role, area }), timeoutMs);
}

/**
 * 发布通知 in chat from the community down to 3号楼: area → 选好了 → category → everyone → title → text →
 * the photo (when given and the channel can send one; else 跳过) → now → the preview (checked: one person, reachable) → 确认发送.
 */
export async function composeToBuilding(secretary: ChatDriver, n: { category: string; title: string; body: string; quiet: boolean; photo?: Buffer }, timeoutMs: number) {
  await secretary.choose(zh.dialog.section_manage);
  await secretary.choose(t.menuCompose);
  await secretary.expectMessage(t.pickScope({ area: '幸福社区' }), timeoutMs);
  await secretary.choose('第一网格 ›');
  await secretary.expectMessage(t.pickScope({ area: '第一网格' }), timeoutMs);
  await secretary.choose('3号楼 ›');
  await secretary.expectMessage(t.pickScope({ area: '3号楼' }), timeoutMs);
  await secretary.choose(t.scopeAll({ area: '3号楼' }));
  await secretary.expectMessage(t.areasPicked({ areas: '3号楼' }), timeoutMs);
  await secretary.choose(t.areasDone);
  await secretary.expectMessage(t.pickCategory, timeoutMs);
  await secretary.choose(n.category);
  await secretary.expectMessage(t.pickGroup, timeoutMs);
  await secretary.choose(t.everyone);
  await secretary.expectMessage(t.askTitle({ max: 60 }), timeoutMs);
  await secretary.sendText(n.title);
  await secretary.expectMessage(t.askBody({ max: 900 }), timeoutMs);
  await secretary.sendText(n.body);
  await secretary.expectMessage(t.askPhoto, timeoutMs);
  if (n.photo && canSendPhoto(secretary)) await secretary.sendPhoto(n.photo);
  else await secretary.choose(t.skip);
  await secretary.expectMessage(t.askWhen, timeoutMs);
  await secretary.choose(t.now);
  const preview = await secretary.expectMessage(/预览/, timeoutMs);
  // Exactly the one resident bound in 3号楼; the neighbour in 7号楼 is not counted.
  expect(preview).toContain('共 1 人，可送达 1 人');
  expect(preview.includes('免打扰')).toBe(n.quiet);
  await secretary.choose(t.confirmSend);
  await secretary.expectMessage(t.sent({ reachable: 1 }), timeoutMs);
}

export interface NoticeCast {
  secretary: ChatDriver;
  /** Bound in 3号楼 (the first household). */
  resident: ChatDriver;
  /** Bound in 7号楼, in the other grid. */
  neighbour: ChatDriver;
  /** Grid worker of the other grid. */
  otherWorker: ChatDriver;
}

/**
 * The notice story every channel must carry, started while quiet hours are on: an 活动 notice
 * composed now waits for them to end; an 应急 notice arrives at once; 收到 is counted and shown to
 * the secretary; nobody in the next building gets either (nor the 活动 notice's photo); a grid worker is offered only their
 * own grid.
 */
export async function noticeStory(
  cast: NoticeCast,
  town: SmallTown,
  opts: { quietEndsAt: Date; timeoutMs: number; photo?: Buffer; awaitHeld?: (resident: ChatDriver, pattern: string, timeoutMs: number) => Promise<string> },
) {
  const { secretary, resident, neighbour, otherWorker } = cast;
  const w = opts.timeoutMs;
  expect(Date.now()).toBeLessThan(opts.quietEndsAt.getTime() - 5000);

  // The 活动 notice carries the poster when the test gives one.
  await composeToBuilding(secretary, { category: t.category_activity, title: '周末书法活动', body: '周六上午9点在活动室，欢迎参加。', quiet: true, photo: opts.photo }, w);
  await composeToBuilding(secretary, { category: t.category_emergency, title: '燃气泄漏', body: '3号楼燃气泄漏，请立即开窗并离开，勿用明火。', quiet: false }, w);

  // 应急 at once, in quiet hours; the 活动 notice is still held.
  await resident.expectMessage('燃气泄漏', w);
  expect(Date.now()).toBeLessThan(opts.quietEndsAt.getTime());
  expect((await resident.received()).some((m) => m.includes('周末书法活动'))).toBe(false);
  // A button on Telegram and the web, the numbered line "1. 收到" on WeChat (the chat is idle).
  await resident.choose(t.received);
  await resident.expectMessage(t.thanksRead, w);

  // The secretary sees it counted.
  await secretary.choose(zh.dialog.section_manage);
  await secretary.choose(t.menuMine);
  await secretary.choose('燃气泄漏');
  await secretary.expectMessage(/已读 1/, w);

  // The 活动 notice arrives once quiet hours are over, not before.
  const awaitHeld = opts.awaitHeld ?? ((chat, pattern, ms) => chat.expectMessage(pattern, ms));
  const held = await awaitHeld(resident, '周末书法活动', Math.max(0, opts.quietEndsAt.getTime() - Date.now()) + 20_000);
  expect(Date.now()).toBeGreaterThanOrEqual(opts.quietEndsAt.getTime() - 1000);
  expect(held).toContain(t.category_activity);

  // The grid worker of the other grid is offered their grid only, never 3号楼's.
  // (Only what compose shows: the binding message names the worker's whole place, 幸福社区 included.)
  const before = (await otherWorker.received()).length;
  await otherWorker.choose(zh.dialog.section_manage);
  await otherWorker.choose(t.menuCompose);
  await otherWorker.expectMessage(t.pickScope({ area: '第二网格' }), w);
  await otherWorker.choose(t.scopeAll({ area: '第二网格' }));
  await otherWorker.expectMessage(t.areasPicked({ areas: '第二网格' }), w);
  await otherWorker.choose(t.areasDone);
  await otherWorker.expectMessage(t.pickCategory, w);
  expect((await otherWorker.received()).slice(before).some((m) => m.includes('3号楼') || m.includes('幸福社区'))).toBe(false);
  await otherWorker.sendText('取消');

  await settle(1500);
  const next = await neighbour.received();
  expect(next.some((m) => m.includes('燃气泄漏') || m.includes('周末书法活动'))).toBe(false);
  void town;
}
