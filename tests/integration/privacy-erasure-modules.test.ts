import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activityOrganisers,
  activitySessions,
  activitySignups,
  channelIdentities,
  consultationProxies,
  consultationTopics,
  consultationVoters,
  people,
  timers,
  topicComments,
  topicSupports,
  visitLogs,
  visitRosters,
  volunteerTasks,
} from '../../db/schema/index.js';
import { markAttendance, rateSession, sessionReport } from '../../src/activities/attendance.js';
import { createActivity } from '../../src/activities/create.js';
import { cancelSignup, signUp } from '../../src/activities/signups.js';
import { OFFER_TIMER } from '../../src/activities/timers.js';
import { parseCliArgs, runCli } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { castBallot, createConsultation, declareAdult, enterBallot, type ConsultationDraft } from '../../src/consultations/commands.js';
import { closeConsultation, openConsultation, publishConsultation } from '../../src/consultations/lifecycle.js';
import { tallyOf, turnoutByBuilding } from '../../src/consultations/tally.js';
import { commentOnTopic, proposeTopic, supportTopic } from '../../src/consultations/topics.js';
import { verifyChain } from '../../src/consultations/verify.js';
import { messages } from '../../src/i18n/index.js';
import { erasePerson } from '../../src/residents/privacy.js';
import { confirmHours, monthlySummary } from '../../src/volunteers/hours.js';
import { reportAsPartyMember, saveProfile } from '../../src/volunteers/profile.js';
import { monthKey } from '../../src/volunteers/rules.js';
import { createTask, signUpForTask } from '../../src/volunteers/tasks.js';
import { createRoster, logVisit, VISIT_DUE_TIMER } from '../../src/volunteers/visits.js';
import type { Work } from '../../src/work/unit.js';
import { ACTIVITY_SETTINGS, lecture, quietWork, textsFor, TZ } from '../support/activity-fixture.js';
import { makePerson } from '../support/case-fixture.js';
import { createEstate, type Estate } from '../support/consultation-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../support/db.js';
import { flushPrefix } from '../support/redis.js';

const zh = messages('zh-CN');
const KEY = 'test-ballot-key';
const H = 3600_000;
const DAY = 24 * H;
const NAME = '张秀英';
const PHONE = '13912345678';
const deps = { quiet: { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' }, locale: 'zh-CN' as const };

/**
 * 删除我的数据 across the modules that came after erasure was written: 幸福学堂 sign-ups (a seat
 * freed goes to the waiting list as a cancellation would), 四点半课堂 children, volunteers (profile,
 * sign-ups, hours, visits) and consultations (declaration, ballot, topics, proxies). One person
 * with a trace in each is erased; nothing names them after, and every total stays what it was.
 */
describe('erasure in activities, volunteers and consultations (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let estate: Estate;
  let work: Work;
  let gone: string;
  let waiting: string;
  let neighbour: string;
  let third: string;
  const prefix = uniqueQueuePrefix();

  beforeAll(async () => {
    database = await createTestDatabase();
    estate = await createEstate(database, { buildings: 1, perBuilding: 4 });
    work = quietWork(database);
    // The person who erases lives alone in 1号楼1单元101; the others next door.
    gone = await makePerson(database, { householdId: estate.households[0]!.id });
    await database.db.update(people).set({ displayName: NAME, phone: PHONE }).where(eq(people.id, gone));
    waiting = await makePerson(database, { householdId: estate.households[1]!.id });
    neighbour = await makePerson(database, { householdId: estate.households[2]!.id });
    third = await makePerson(database, { householdId: estate.households[3]!.id });
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
    await flushPrefix(prefix);
  });

  const newActivity = (now: Date, capacity: number, startsAt: Date, over: Parameters<typeof lecture>[3] = {}) =>
    work.run((uow) => createActivity(uow, estate.secretary, { ...lecture(estate.community.id, capacity, startsAt), announce: false, ...over }, now, ACTIVITY_SETTINGS));
  const signupOf = async (sessionId: string, personId: string) =>
    (await database.db.select().from(activitySignups).where(and(eq(activitySignups.sessionId, sessionId), eq(activitySignups.participantId, personId))))[0];
  const draft = (over: Partial<ConsultationDraft>): ConsultationDraft => ({
    title: '是否加装电梯',
    background: '1号楼居民提出加装电梯，费用按楼层分摊。',
    options: ['同意', '不同意'],
    scopeUnitIds: [estate.community.id],
    basis: 'adults',
    closesAt: new Date(Date.now() + H),
    earlyClose: true,
    ...over,
  });
  const openOne = (over: Partial<ConsultationDraft>) =>
    work.run(async (uow) => openConsultation(uow, estate.secretary, (await createConsultation(uow.tx, estate.secretary, draft(over), new Date())).id, new Date(), deps));

  it('leaves nothing that names the person, passes their seats on, and keeps every total', async () => {
    const now = new Date();
    const c = estate.community.id;

    // 幸福学堂: the last seat of one lecture, with someone waiting; a seat offered to them in another, with someone behind.
    const full = await newActivity(now, 1, new Date(now.getTime() + 3 * DAY));
    const fullSession = full.sessions[0]!.id;
    await work.run((uow) => signUp(uow, { sessionId: fullSession, personId: gone }, now, TZ));
    await work.run((uow) => signUp(uow, { sessionId: fullSession, personId: waiting }, now, TZ));
    const offered = await newActivity(now, 1, new Date(now.getTime() + 4 * DAY));
    const offeredSession = offered.sessions[0]!.id;
    for (const p of [neighbour, gone, third]) await work.run((uow) => signUp(uow, { sessionId: offeredSession, personId: p }, now, TZ));
    const first = await signupOf(offeredSession, neighbour);
    await work.run((uow) => cancelSignup(uow, first!.id, neighbour, now, TZ));
    expect((await signupOf(offeredSession, gone))!.status).toBe('offered');
    await database.db.insert(activityOrganisers).values({ activityId: full.activityId, personId: gone });
    // A lecture already held, which they came to and rated.
    const held = await newActivity(now, 5, new Date(now.getTime() + 5 * DAY));
    const heldSession = held.sessions[0]!.id;
    for (const p of [gone, waiting]) await work.run((uow) => signUp(uow, { sessionId: heldSession, personId: p }, now, TZ));
    await database.db.update(activitySessions).set({ startsAt: new Date(now.getTime() - 3 * H), endsAt: new Date(now.getTime() - 2 * H) }).where(eq(activitySessions.id, heldSession));
    await database.db.insert(activityOrganisers).values({ activityId: held.activityId, personId: estate.secretary }).onConflictDoNothing();
    const mine = await signupOf(heldSession, gone);
    await work.run((uow) => markAttendance(uow, estate.secretary, mine!.id, true, now));
    await work.run((uow) => rateSession(uow, gone, mine!.id, 5, now));
    const heldReport = await sessionReport(database.db, estate.secretary, held.activityId);
    // 四点半课堂: their child, and a neighbour's child they pick up (their phone as the guardian's).
    const from = new Date(now.getTime() + DAY).toISOString().slice(0, 10);
    const until = new Date(now.getTime() + 15 * DAY).toISOString().slice(0, 10);
    const school = await newActivity(now, 20, now, { kind: 'after_school', title: '四点半课堂', schedule: { kind: 'series', from, until, weekday: 3, time: '16:30', durationMinutes: 90 } });
    const schoolSession = school.sessions[0]!.id;
    await work.run((uow) => signUp(uow, { sessionId: schoolSession, personId: gone, child: { childName: '李小明', childGrade: '三年级', guardianName: NAME, guardianPhone: PHONE } }, now, TZ));
    await work.run((uow) => signUp(uow, { sessionId: schoolSession, personId: neighbour, child: { childName: '王小红', guardianName: '张阿姨', guardianPhone: '139 1234 5678' } }, now, TZ));
    await work.run((uow) => signUp(uow, { sessionId: schoolSession, personId: third, child: { childName: '赵小刚', guardianName: '赵先生', guardianPhone: '13800001111' } }, now, TZ));

    // Volunteers: a profile with 在职党员报到, a slot ahead, hours served, a roster they serve and one that visits them.
    await database.db.transaction(async (tx) => {
      await saveProfile(tx, gone, { communityId: c, skills: ['理发'], availability: '周末上午', team: '红马甲服务队' });
      await reportAsPartyMember(tx, gone, { homeCommunityId: c, workUnit: '市税务局机关党支部' }, now);
      await saveProfile(tx, waiting, { communityId: c, skills: ['陪伴'], team: '红马甲服务队' });
    });
    const ahead = await database.db.transaction((tx) => createTask(tx, estate.secretary, { communityId: c, title: '义务理发', place: '社区广场', startsAt: new Date(now.getTime() + 2 * DAY), endsAt: new Date(now.getTime() + 2 * DAY + 2 * H), slots: 1 }));
    await work.run((uow) => signUpForTask(uow, gone, ahead.id, now));
    const served = await database.db.transaction((tx) => createTask(tx, estate.secretary, { communityId: c, title: '楼道清扫', place: '1号楼', startsAt: new Date(now.getTime() + H), endsAt: new Date(now.getTime() + 4 * H), slots: 3 }));
    for (const p of [gone, waiting]) await work.run((uow) => signUpForTask(uow, p, served.id, now));
    const servedAt = new Date(now.getTime() - 5 * H);
    await database.db.update(volunteerTasks).set({ startsAt: servedAt, endsAt: new Date(servedAt.getTime() + 3 * H) }).where(eq(volunteerTasks.id, served.id));
    await work.run((uow) => confirmHours(uow, estate.secretary, served.id, [{ personId: gone, hours: 2 }, { personId: waiting, hours: 3 }], now));
    const month = monthKey(servedAt, 'Asia/Shanghai');
    const summaryBefore = await monthlySummary(database.db, estate.secretary, c, month, 'Asia/Shanghai');
    expect(summaryBefore).toMatchObject([{ team: '红马甲服务队', hours: 5, volunteers: 2, services: 2 }]);
    const theirRoster = await work.run((uow) => createRoster(uow, estate.secretary, { communityId: c, volunteerId: gone, visitee: '5号楼2单元502', everyDays: 7 }, now));
    await work.run((uow) => logVisit(uow, gone, theirRoster, '王奶奶血压正常，精神不错', now));
    const visitingThem = await work.run((uow) => createRoster(uow, estate.secretary, { communityId: c, volunteerId: waiting, visitee: '1号楼 1单元 101', everyDays: 7 }, now));
    await work.run((uow) => logVisit(uow, waiting, visitingThem, '阿姨腿脚不便，需要助浴', now));

    // Consultations: an adults' secret vote (declared 18+), closed and published; a households' open one with a proxy naming them.
    const vote = await openOne({});
    await database.db.transaction((tx) => declareAdult(tx, gone, true, now));
    await database.db.transaction((tx) => declareAdult(tx, waiting, true, now));
    await database.db.transaction((tx) => castBallot(tx, KEY, vote.id, gone, [0], now));
    await database.db.transaction((tx) => castBallot(tx, KEY, vote.id, waiting, [1], now));
    await database.db.transaction((tx) => castBallot(tx, KEY, vote.id, gone, [1], new Date(now.getTime() + 1000)));
    await work.run((uow) => closeConsultation(uow, vote.id, new Date(), { actorId: estate.secretary, reason: '全部住户已投票' }));
    await work.run((uow) => publishConsultation(uow, estate.secretary, vote.id, new Date(), deps));
    const homes = await openOne({ basis: 'households', secret: false, showNames: true, title: '是否更换楼道灯' });
    await database.db.transaction((tx) => castBallot(tx, KEY, homes.id, gone, [0], now));
    await database.db.transaction((tx) => enterBallot(tx, KEY, estate.secretary, homes.id, estate.households[2]!.id, [1], now, { grantor: '王建国', proxy: `${NAME} ${PHONE}`, documentRef: '委托书-2026-017' }));
    const tallyBefore = [await tallyOf(database.db, vote.id, 2), await tallyOf(database.db, homes.id, 2)];
    const turnoutBefore = [await turnoutByBuilding(database.db, vote.id, 'adults'), await turnoutByBuilding(database.db, homes.id, 'households')];
    const topic = await database.db.transaction((tx) => proposeTopic(tx, gone, estate.households[0]!.id, { title: '增设电动车充电桩', body: `${NAME}：我家楼下电动车乱停，电话 ${PHONE}` }, now));
    const other = await database.db.transaction((tx) => proposeTopic(tx, waiting, estate.households[1]!.id, { title: '小区绿化补种', body: '中心花园的树死了几棵，建议补种。' }, now));
    for (const p of [gone, waiting]) await database.db.transaction((tx) => supportTopic(tx, topic.id, p, estate.households[p === gone ? 0 : 1]!.id, now));
    await database.db.transaction((tx) => supportTopic(tx, other.id, gone, estate.households[0]!.id, now));
    await database.db.transaction((tx) => commentOnTopic(tx, other.id, gone, estate.households[0]!.id, '同意，我可以出力 张秀英', now));

    // Erase, from the chat they use.
    const [identity] = await database.db.select({ id: channelIdentities.id }).from(channelIdentities).where(eq(channelIdentities.personId, gone));
    await work.run((uow) => erasePerson(uow, gone, identity!.id, new Date(), zh.privacy.redacted, TZ));

    // Nothing names them: not their id in any of these modules' rows, nor their name, phone, notes, child or workplace anywhere.
    const moduleTables = ['activity_signups', 'after_school_children', 'activity_organisers', 'volunteer_profiles', 'volunteer_signups', 'volunteer_hours', 'visit_rosters', 'visit_logs', 'consultation_voters', 'ballots', 'adult_declarations', 'consultation_topics', 'topic_supports', 'topic_comments', 'consultation_proxies', 'timers'];
    for (const table of moduleTables) {
      const rows = await database.sql.unsafe(`select row_to_json(t)::text as j from "${table}" t`);
      for (const { j } of rows as unknown as { j: string }[]) expect(j, `${table} still points at the person`).not.toContain(gone);
    }
    const tables = (await database.sql<{ name: string }[]>`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`).map((r) => r.name);
    for (const table of tables) {
      const rows = await database.sql.unsafe(`select row_to_json(t)::text as j from "${table}" t`);
      for (const { j } of rows as unknown as { j: string }[]) {
        for (const trace of [NAME, PHONE, '139 1234 5678', '李小明', '王小红', '市税务局', '王奶奶血压正常', '腿脚不便', '1号楼 1单元 101', '电动车乱停', '我可以出力']) expect(j, `${table} holds ${trace}`).not.toContain(trace);
      }
    }
    expect((await database.sql`select child_name from after_school_children`).map((r) => r.child_name)).toEqual(['赵小刚']);

    // Their seats passed on as cancellations do: the one waiting is offered the last seat, the offer they held goes to the next.
    expect(await signupOf(fullSession, waiting)).toMatchObject({ status: 'offered' });
    expect(await signupOf(offeredSession, third)).toMatchObject({ status: 'offered' });
    const [fullNow] = await database.db.select().from(activitySessions).where(eq(activitySessions.id, fullSession));
    expect(fullNow!.taken).toBe(1);
    expect((await textsFor(database, waiting)).filter((t) => t.includes('有空位了'))).toHaveLength(1);
    expect((await textsFor(database, third)).filter((t) => t.includes('有空位了'))).toHaveLength(1);
    const offerTimers = await database.db.select({ subjectId: timers.subjectId }).from(timers).where(eq(timers.kind, OFFER_TIMER));
    expect(offerTimers.map((t) => t.subjectId).sort()).toEqual([(await signupOf(fullSession, waiting))!.id, (await signupOf(offeredSession, third))!.id].sort());
    // The session already held still counts its seat, its attendance and its rating.
    expect(await sessionReport(database.db, estate.secretary, held.activityId)).toEqual(heldReport);
    const [heldNow] = await database.db.select().from(activitySessions).where(eq(activitySessions.id, heldSession));
    expect(heldNow!.taken).toBe(2);

    // Volunteers: the slot ahead is free again, the month adds up as before, the rosters ended, the visits kept without words.
    const [aheadNow] = await database.db.select().from(volunteerTasks).where(eq(volunteerTasks.id, ahead.id));
    expect(aheadNow!.taken).toBe(0);
    expect(await monthlySummary(database.db, estate.secretary, c, month, 'Asia/Shanghai')).toEqual(summaryBefore);
    const rosters = await database.db.select().from(visitRosters);
    expect(rosters.map((r) => [r.id === theirRoster ? 'theirs' : 'them', r.active, r.volunteerId]).sort()).toEqual([
      ['theirs', false, null],
      ['them', false, waiting],
    ]);
    expect((await database.db.select().from(visitLogs)).map((l) => l.note)).toEqual([zh.privacy.redacted, zh.privacy.redacted]);
    expect(await database.db.select().from(timers).where(eq(timers.kind, VISIT_DUE_TIMER))).toEqual([]);
    // The person they visited still needs someone: the community is told.
    expect(await textsFor(database, estate.secretary)).toContain(zh.volunteers.visitVolunteerGone({ visitee: '5号楼2单元502' }));

    // Consultations: the chain verifies, the tallies and turnout are what they were, topics keep their other supporters.
    // `npm run linli -- verify-ballots <id>`: the chain and the published tally recomputed.
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
    const lines: string[] = [];
    await runCli(parseCliArgs(['verify-ballots', vote.id]), config, (l) => lines.push(l));
    expect(lines).toEqual(['chain ok: 3 ballots', expect.stringMatching(/^tally ok: 2 counted; 同意 0, 不同意 2/)]);
    expect(await verifyChain(database.db, homes.id)).toMatchObject({ ok: true });
    expect([await tallyOf(database.db, vote.id, 2), await tallyOf(database.db, homes.id, 2)]).toEqual(tallyBefore);
    expect([await turnoutByBuilding(database.db, vote.id, 'adults'), await turnoutByBuilding(database.db, homes.id, 'households')]).toEqual(turnoutBefore);
    const voters = await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, homes.id));
    expect(voters.find((v) => v.householdId === estate.households[0]!.id)).toMatchObject({ personId: null, voterKey: `h:${estate.households[0]!.id}` });
    const [proxy] = await database.db.select().from(consultationProxies);
    expect(proxy).toMatchObject({ grantor: '王建国', proxy: zh.privacy.redacted, documentRef: '委托书-2026-017' });
    const topics = await database.db.select().from(consultationTopics).orderBy(consultationTopics.id);
    expect(topics.map((t) => [t.title, t.authorId, t.supports])).toEqual([
      ['增设电动车充电桩', null, 1],
      ['小区绿化补种', waiting, 0],
    ]);
    expect(await database.db.select({ personId: topicSupports.personId }).from(topicSupports)).toEqual([{ personId: waiting }]);
    expect(await database.db.select({ personId: topicComments.personId, body: topicComments.body }).from(topicComments)).toEqual([{ personId: null, body: zh.privacy.redacted }]);
  }, 60_000);

  it('tells a household member the seat booked for them is gone when the booker erases', async () => {
    const now = new Date();
    const home = estate.households[3]!.id;
    const booker = await makePerson(database, { householdId: home });
    const member = await makePerson(database, { householdId: home });
    const talk = await newActivity(now, 10, new Date(now.getTime() + 6 * DAY), { title: '养生保健讲座' });
    const session = talk.sessions[0]!.id;
    await work.run((uow) => signUp(uow, { sessionId: session, personId: booker, participantId: member }, now, TZ));
    expect((await signupOf(session, member))!.status).toBe('confirmed');
    const [identity] = await database.db.select({ id: channelIdentities.id }).from(channelIdentities).where(eq(channelIdentities.personId, booker));
    await work.run((uow) => erasePerson(uow, booker, identity!.id, new Date(), zh.privacy.redacted, TZ));
    expect(await signupOf(session, member)).toBeUndefined();
    expect((await database.db.select({ taken: activitySessions.taken }).from(activitySessions).where(eq(activitySessions.id, session)))[0]!.taken).toBe(0);
    expect(await textsFor(database, member)).toContain(zh.activities.bookerLeft({ title: '养生保健讲座' }));
  }, 60_000);
});
