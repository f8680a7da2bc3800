import { and, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { people, staffAssignments } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import { messages } from '../../src/i18n/index.js';
import { formatLocal } from '../../src/notices/rules.js';
import { saveProfile } from '../../src/volunteers/profile.js';
import { createTask } from '../../src/volunteers/tasks.js';
import type { ChatDriver } from '../support/chat-driver.js';
import type { SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
const a = zh.activities;
const v = zh.volunteers;
const TZ = 'Asia/Shanghai';

export interface ActivityCast {
  /** 社区书记, bound as staff. */
  secretary: ChatDriver;
  /** Residents of three households of 3号楼. */
  first: ChatDriver;
  second: ChatDriver;
  volunteer: ChatDriver;
}

async function secretaryId(database: Database, town: SmallTown): Promise<string> {
  const [row] = await database.db.select({ id: staffAssignments.personId }).from(staffAssignments).where(and(eq(staffAssignments.orgUnitId, town.community.id), eq(staffAssignments.role, 'community_secretary')));
  return row!.id;
}

/**
 * The 幸福学堂 story every channel must carry: the secretary creates a weekly series in chat (one
 * seat a session of two hours, sign-ups open until the start, the first starting in 30 minutes so
 * check-in is open); the first resident takes the seat, the second waits; the first cancels, the
 * second is offered the seat, confirms, checks in with the session's code and rates it. Then a volunteer sees a 巡访 task that fits, signs up,
 * the organiser confirms in chat who came and the hours, and the volunteer's ledger shows them.
 */
export async function activityStory(cast: ActivityCast, town: SmallTown, database: Database, opts: { timeoutMs: number }) {
  const { secretary, first, second, volunteer } = cast;
  const w = opts.timeoutMs;
  const startsAt = new Date(Date.now() + 30 * 60_000);
  const start = formatLocal(startsAt, TZ);
  const until = formatLocal(new Date(startsAt.getTime() + 15 * 86_400_000), TZ).slice(0, 10);

  // 发布活动: a weekly series.
  await secretary.choose(zh.dialog.section_manage);
  await secretary.choose(a.menuCreate);
  await secretary.expectMessage(a.createKind, w);
  await secretary.choose(a.kind_lecture);
  await secretary.expectMessage(a.createTitle, w);
  await secretary.sendText('法律常识讲座');
  await secretary.expectMessage(a.createTopic, w);
  await secretary.sendText('法律常识');
  await secretary.expectMessage(a.createSpeaker, w);
  await secretary.sendText('王律师');
  await secretary.expectMessage(a.createVenue, w);
  await secretary.sendText('社区活动室');
  await secretary.expectMessage(a.createRepeat, w);
  await secretary.choose(a.weekly);
  await secretary.expectMessage(/开始时间/, w);
  await secretary.sendText(start);
  // Two hours a session (a length button; an end time may be typed instead).
  await secretary.expectMessage(/每次多长时间/, w);
  await secretary.choose(a.durationHours({ hours: 2 }));
  await secretary.expectMessage(/重复到哪天/, w);
  await secretary.sendText(until);
  await secretary.expectMessage(a.createCapacity, w);
  await secretary.sendText('1');
  // For everyone in the community: no group picked.
  await secretary.expectMessage(a.createGroupsPicked({ groups: a.groupsEveryone }), w);
  await secretary.choose(a.groupsDone);
  // Sign-ups from now until the start: the default button.
  await secretary.expectMessage(a.createSignup, w);
  await secretary.choose(a.signupDefault);
  const summary = await secretary.expectMessage(/共 3 次，每次 1 人/, w);
  expect(summary).toContain('法律常识讲座');
  expect(summary).toContain(`${start}–${formatLocal(new Date(startsAt.getTime() + 2 * 3600_000), TZ).slice(11)}`);
  await secretary.choose(a.publish);
  const created = await secretary.expectMessage(/已发布，共 3 次/, w);
  const code = /签到码：([2-9A-Z]{4})/.exec(created)![1]!;

  // Announced through notices to the residents of the community.
  await first.expectMessage(/法律常识讲座[\s\S]*主讲：王律师/, w);

  // Sign up: the first takes the only seat, the second waits.
  const line = a.sessionLine({ when: start.slice(5), title: '法律常识讲座', free: 1, mine: '' });
  await first.choose(zh.dialog.section_activities);
  await first.choose(a.menuBrowse);
  await first.expectMessage(a.browseIntro, w);
  await first.choose(line);
  await first.expectMessage(/报名成功：法律常识讲座/, w);
  await second.choose(zh.dialog.section_activities);
  await second.choose(a.menuBrowse);
  await second.expectMessage(a.browseIntro, w);
  await second.choose(a.sessionLine({ when: start.slice(5), title: '法律常识讲座', free: 0, mine: '' }));
  await second.expectMessage(/已满，您在候补名单第 1 位/, w);

  // The first cancels; the seat is offered to the second, who confirms it.
  await first.choose(zh.dialog.section_activities);
  await first.choose(a.menuMine);
  await first.expectMessage(/法律常识讲座 ·已报名/, w);
  await first.choose(a.cancelThis({ title: '法律常识讲座' }));
  await first.expectMessage(a.cancelled({ title: '法律常识讲座' }), w);
  await second.expectMessage(/有空位了/, w);
  await second.choose(a.confirmSeat);
  await second.expectMessage(/报名成功：法律常识讲座/, w);

  // Check-in with the session's code, then a rating.
  await second.choose(zh.dialog.section_activities);
  await second.choose(a.menuCheckin);
  await second.expectMessage(a.askCode, w);
  await second.sendText(code.toLowerCase());
  await second.expectMessage(a.checkedIn({ title: '法律常识讲座' }), w);
  await second.expectMessage(a.askRating({ title: '法律常识讲座' }), w);
  await second.choose(a.stars({ n: 5 }));
  await second.expectMessage(a.thanksRating, w);

  // 志愿服务: a 巡访 task that fits; the organiser confirms 2 hours; the ledger shows them.
  const organiser = await secretaryId(database, town);
  const volunteerId = await personIn(database, town.households[2]!.id);
  await database.db.transaction((tx) => saveProfile(tx, volunteerId, { communityId: town.community.id, skills: ['陪伴'], team: '红马甲服务队' }));
  const visitAt = new Date(Date.now() + 2 * 3600_000);
  await database.db.transaction((tx) =>
    createTask(tx, organiser, { communityId: town.community.id, kind: 'visit', title: '独居老人巡访', place: '7号楼', startsAt: visitAt, endsAt: new Date(visitAt.getTime() + 2 * 3600_000), slots: 2, skills: ['陪伴'] }),
  );
  await volunteer.choose(v.menu);
  await volunteer.expectMessage(v.menu, w);
  await volunteer.choose(v.menuTasks);
  await volunteer.expectMessage(v.tasksIntro, w);
  await volunteer.choose('独居老人巡访');
  await volunteer.expectMessage(/已报名志愿任务「独居老人巡访」/, w);
  // The organiser confirms in chat: the task, who came, the hours.
  await secretary.sendText('菜单');
  await secretary.expectMessage(zh.dialog.menuTitle, w);
  await secretary.choose(zh.dialog.section_manage);
  await secretary.choose(v.menuConfirm);
  await secretary.expectMessage(v.confirmPick, w);
  await secretary.choose('独居老人巡访');
  await secretary.expectMessage(v.confirmWho, w);
  await secretary.choose('⬜');
  await secretary.expectMessage(v.confirmWho, w);
  await secretary.choose(v.next);
  await secretary.expectMessage(v.askHours, w);
  await secretary.sendText('2');
  await secretary.expectMessage(v.confirmed({ n: 1, hours: 2 }), w);
  await volunteer.expectMessage(v.hoursConfirmed({ title: '独居老人巡访', hours: 2 }), w);
  await volunteer.sendText('菜单');
  await volunteer.expectMessage(zh.dialog.menuTitle, w);
  await volunteer.choose(v.menu);
  await volunteer.expectMessage(v.menu, w);
  await volunteer.choose(v.menuLedger);
  const ledger = await volunteer.expectMessage(v.ledgerHead({ total: 2 }), w);
  expect(ledger).toContain('独居老人巡访 2 小时');
}

/** The volunteer is the one person bound to the third household. */
async function personIn(database: Database, householdId: number): Promise<string> {
  const [row] = await database.db.select({ id: people.id }).from(people).where(eq(people.householdId, householdId));
  return row!.id;
}
