import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activitySessions, activitySignups, afterSchoolChildren, notices } from '../../../db/schema/index.js';
import { signUpButton } from '../../../src/activities/buttons.js';
import { createActivity } from '../../../src/activities/create.js';
import { createActivityFlows } from '../../../src/activities/flows.js';
import { createSeatClaims, type SeatClaims } from '../../../src/activities/seat-batch.js';
import { loadConfig } from '../../../src/config.js';
import { formatLocal, parseLocal } from '../../../src/notices/rules.js';
import { createDialog, type Dialog } from '../../../src/dialog/engine.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { residentFlows } from '../../../src/residents/flows.js';
import { ACTIVITY_SETTINGS, lecture, quietWork } from '../../support/activity-fixture.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, uniqueQueuePrefix } from '../../support/db.js';
import { EngineChat } from '../../support/engine-chat.js';
import { resident } from '../../support/notice-fixture.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

const a = messages('zh-CN').activities;

describe('四点半课堂 sign-up in chat (dialog engine, real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let dialog: Dialog;
  let seats: SeatClaims;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, QUEUE_PREFIX: uniqueQueuePrefix(), LOG_LEVEL: 'silent' });
    const work = quietWork(database);
    // As the app wires it: sign-ups group-committed (a 四点半课堂 one stays in the turn's transaction).
    seats = createSeatClaims({ url: database.url, sink: work.sink, logger: createLogger('silent') });
    dialog = createDialog({ database, sink: work.sink, config, logger: createLogger('silent'), flows: [...residentFlows, ...createActivityFlows(ACTIVITY_SETTINGS, { seats })] });
  });
  afterAll(async () => {
    await seats?.close();
    await database?.drop();
  });

  it('asks for whom (a household member), then the child and the guardian, and keeps them apart from the sign-up', async () => {
    const secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    const parent = await resident(database, town.households[0]!.id);
    const child = await resident(database, town.households[0]!.id);
    const now = new Date();
    const from = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
    const until = new Date(now.getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
    const made = await quietWork(database).run((uow) =>
      createActivity(uow, secretary, { kind: 'after_school', title: '四点半课堂', venue: '社区活动室', communityId: town.community.id, capacity: 20, announce: false, schedule: { kind: 'series', from, until, weekday: 3, time: '16:30', durationMinutes: 90 } }, now, ACTIVITY_SETTINGS),
    );
    const chat = new EngineChat(dialog, database, parent.refs.web!);
    await chat.choice(signUpButton(made.sessions[0]!.id));
    expect(await chat.freshText()).toContain(a.askWho);
    await chat.choose(a.member({ n: 1, name: '' }));
    expect(await chat.freshText()).toContain('请输入孩子的姓名');
    await chat.text('小明');
    expect(await chat.freshText()).toContain(a.askGrade);
    await chat.choose(a.skip);
    expect(await chat.freshText()).toContain(a.askGuardian);
    await chat.text('李红');
    expect(await chat.freshText()).toContain(a.askPhone);
    await chat.text('不是电话');
    expect(await chat.freshText()).toContain(a.badPhone);
    await chat.text('13800001234');
    expect(await chat.freshText()).toContain('报名成功：四点半课堂');
    const [s] = await database.db.select().from(activitySignups).where(eq(activitySignups.sessionId, made.sessions[0]!.id));
    expect(s).toMatchObject({ personId: parent.personId, participantId: child.personId, status: 'confirmed' });
    const [c] = await database.db.select().from(afterSchoolChildren).where(eq(afterSchoolChildren.signupId, s!.id));
    expect(c).toMatchObject({ childName: '小明', childGrade: null, guardianName: '李红', guardianPhone: '13800001234' });
  });

  it('a lecture sign-up in chat goes through the group commit; a second press is told they are signed up', async () => {
    const secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    const alone = await resident(database, town.households[2]!.id);
    const now = new Date();
    const made = await quietWork(database).run((uow) => createActivity(uow, secretary, lecture(town.community.id, 1, new Date(now.getTime() + 86_400_000)), now, ACTIVITY_SETTINGS));
    const sessionId = made.sessions[0]!.id;
    const chat = new EngineChat(dialog, database, alone.refs.web!);
    await chat.choice(signUpButton(sessionId));
    expect(await chat.freshText()).toContain('报名成功：法律常识讲座');
    await chat.choice(signUpButton(sessionId));
    expect(await chat.freshText()).toContain(a.err_already_signed_up);
    const rows = await database.db.select().from(activitySignups).where(eq(activitySignups.sessionId, sessionId));
    expect(rows.map((r) => [r.personId, r.status])).toEqual([[alone.personId, 'confirmed']]);
  });

  it('staff choose in chat whom an activity is for; its announcement goes to those groups only', async () => {
    const n = messages('zh-CN').notices;
    const secretary = await resident(database, town.households[1]!.id);
    await assign(database, secretary.personId, 'community_secretary', town.community.id);
    const chat = new EngineChat(dialog, database, secretary.refs.web!);
    await chat.text('发布活动');
    await chat.choose(a.kind_lecture);
    await chat.text('冬季养生讲座');
    await chat.choose(a.skip);
    await chat.choose(a.skip);
    await chat.text('社区活动室');
    await chat.choose(a.once);
    const at = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    await chat.text(`${at} 09:30`);
    await chat.choose(a.durationHours({ hours: 2 }));
    await chat.text('30');
    expect(await chat.freshText()).toContain(a.createGroups);
    await chat.choose(n.group_elderly);
    await chat.choose(n.group_volunteers);
    expect(await chat.freshText()).toContain(a.createGroupsPicked({ groups: `${n.group_elderly}、${n.group_volunteers}` }));
    await chat.choose(`✓ ${n.group_volunteers}`);
    await chat.choose(a.groupsDone);
    expect(await chat.freshText()).toContain(a.createSignup);
    await chat.choose(a.signupDefault);
    const summary = await chat.freshText();
    expect(summary).toContain('冬季养生讲座');
    expect(summary).toContain(`${at} 09:30–11:30`);
    expect(summary).toContain(a.createGroupsPicked({ groups: n.group_elderly }));
    await chat.choose(a.publish);
    expect(await chat.freshText()).toContain('已发布');
    const [made] = await database.db.select().from(activities).where(eq(activities.title, '冬季养生讲座'));
    expect(made!.groups).toEqual(['elderly']);
    // The default window: from publishing until the start.
    const [session] = await database.db.select().from(activitySessions).where(eq(activitySessions.activityId, made!.id));
    expect(session!.endsAt.getTime() - session!.startsAt.getTime()).toBe(120 * 60_000);
    expect(made!.signupClosesAt).toEqual(session!.startsAt);
    expect(made!.signupOpensAt.getTime()).toBeLessThanOrEqual(Date.now());
    const [announced] = await database.db.select().from(notices).where(eq(notices.authorId, secretary.personId));
    expect(announced!.groups).toEqual(['elderly']);
  });

  it('staff set a weekly series’ end time and its sign-up window in chat; a bad length or window is refused and asked again', async () => {
    const TZ = 'Asia/Shanghai';
    const secretary = await resident(database, town.households[1]!.id);
    await assign(database, secretary.personId, 'community_secretary', town.community.id);
    const chat = new EngineChat(dialog, database, secretary.refs.web!);
    const day = 86_400_000;
    const first = formatLocal(new Date(Date.now() + 2 * day), TZ).slice(0, 10);
    const until = formatLocal(new Date(Date.now() + 16 * day), TZ).slice(0, 10);
    await chat.text('发布活动');
    await chat.choose(a.kind_after_school);
    await chat.text('四点半课堂·秋季');
    await chat.choose(a.skip);
    await chat.choose(a.skip);
    await chat.text('社区活动室');
    await chat.choose(a.weekly);
    await chat.text(`${first} 16:30`);
    expect(await chat.freshText()).toContain(a.createEnd({ example: '18:30' }));
    // An end before the start, then one 13 hours later: refused, the lengths offered again.
    await chat.text('15:00');
    expect(await chat.freshText()).toContain(a.badEnd);
    await chat.text(`${formatLocal(new Date(parseLocal(`${first} 16:30`, TZ)!.getTime() + 13 * 3600_000), TZ)}`);
    expect(await chat.freshText()).toContain(a.badEnd);
    await chat.text('18:15');
    expect(await chat.freshText()).toContain('重复到哪天');
    await chat.text(until);
    await chat.text('20');
    await chat.choose(a.groupsDone);
    await chat.choose(a.signupSet);
    const opens = formatLocal(new Date(Date.now() + day), TZ);
    // Opening after the last session starts cannot work: said, and asked again.
    await chat.text(`${until} 23:00`);
    expect(await chat.freshText()).toContain(a.err_signup_opens_after_start);
    await chat.text(opens);
    expect(await chat.freshText()).toContain('报名何时截止');
    await chat.text(`${until} 23:00`);
    expect(await chat.freshText()).toContain(a.err_signup_closes_after_start);
    await chat.text(formatLocal(new Date(Date.now() + day / 2), TZ));
    expect(await chat.freshText()).toContain(a.err_signup_closes_before_opens);
    const closes = `${first} 12:00`;
    await chat.text(closes);
    const summary = await chat.freshText();
    expect(summary).toContain(`${first} 16:30–18:15`);
    expect(summary).toContain(a.createSignupLine({ opens, closes }));
    await chat.choose(a.publish);
    expect(await chat.freshText()).toContain('已发布');
    const [made] = await database.db.select().from(activities).where(eq(activities.title, '四点半课堂·秋季'));
    expect(made).toMatchObject({ signupOpensAt: parseLocal(opens, TZ), signupClosesAt: parseLocal(closes, TZ) });
    const sessions = await database.db.select().from(activitySessions).where(eq(activitySessions.activityId, made!.id));
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    expect(sessions.every((x) => x.endsAt.getTime() - x.startsAt.getTime() === 105 * 60_000)).toBe(true);
  });
});
