import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activitySessions, activitySignups, afterSchoolChildren, auditLog, timers } from '../../../db/schema/index.js';
import { activityTermEndTimer } from '../../../jobs/activities.js';
import { checkIn, markAttendance, rateSession, repeatedNoShows, sessionReport } from '../../../src/activities/attendance.js';
import { serviceCoverage } from '../../../src/activities/coverage.js';
import { createActivity } from '../../../src/activities/create.js';
import { childrenOf } from '../../../src/activities/minors.js';
import { signUp } from '../../../src/activities/signups.js';
import { TERM_END_TIMER } from '../../../src/activities/timers.js';
import { createLogger } from '../../../src/log.js';
import { fireDueTimers } from '../../../src/timers/fire.js';
import { formatLocal, parseLocal } from '../../../src/notices/rules.js';
import type { Work } from '../../../src/work/unit.js';
import { ACTIVITY_SETTINGS, lecture, quietWork, TZ } from '../../support/activity-fixture.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase } from '../../support/db.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

const child = { childName: '小明', childGrade: '三年级', guardianName: '李红', guardianPhone: '13800001234' };

describe('check-in, ratings, no-shows, minors’ data and coverage (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let work: Work;
  let secretary: string;
  let colleague: string;
  let parent: string;
  let neighbour: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    work = quietWork(database);
    secretary = await makePerson(database);
    colleague = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    await assign(database, colleague, 'community_director', town.community.id);
    parent = await makePerson(database, { householdId: town.households[0]!.id });
    neighbour = await makePerson(database, { householdId: town.households[1]!.id });
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** An activity whose session runs from 30 minutes ago for 2 hours (sign-ups taken until the start, so made earlier). */
  async function sessionUnderway(over = {}) {
    const created = new Date(Date.now() - 3600_000);
    const startsAt = new Date(Date.now() - 30 * 60_000);
    const made = await work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 10, startsAt, { announce: false, ...over }), created, ACTIVITY_SETTINGS));
    for (const personId of [parent, neighbour]) await work.run((uow) => signUp(uow, { sessionId: made.sessions[0]!.id, personId }, created, TZ));
    return made;
  }

  it('checks in with the session’s short code, then takes a rating; no code, no rating', async () => {
    const made = await sessionUnderway();
    const code = made.sessions[0]!.checkinCode;
    await expect(work.run((uow) => checkIn(uow, parent, 'ZZZZ', new Date()))).rejects.toMatchObject({ reason: 'wrong_code' });
    const done = await work.run((uow) => checkIn(uow, parent, ` ${code.toLowerCase()} `, new Date()));
    expect(done.signupIds).toHaveLength(1);
    await work.run((uow) => rateSession(uow, parent, done.signupIds[0]!, 5, new Date()));
    const report = await sessionReport(database.db, secretary, made.activityId);
    expect(report[0]).toMatchObject({ confirmed: 2, came: 1, rating: 5 });
    const [, other] = await database.db.select().from(activitySignups).where(eq(activitySignups.sessionId, made.sessions[0]!.id)).orderBy(asc(activitySignups.arrival));
    await expect(work.run((uow) => rateSession(uow, neighbour, other!.id, 4, new Date()))).rejects.toMatchObject({ reason: 'may_not_rate' });
    // An organiser can record attendance by hand; someone else cannot.
    await expect(work.run((uow) => markAttendance(uow, neighbour, other!.id, true, new Date()))).rejects.toMatchObject({ reason: 'not_organiser' });
  });

  it('gives each session of a series its own code: one session’s code checks nobody in to another', async () => {
    const week = 7 * 86_400_000;
    // The second of four weekly sessions began 30 minutes ago; the first was a week before it.
    const second = parseLocal(formatLocal(new Date(Date.now() - 30 * 60_000), 'Asia/Shanghai'), 'Asia/Shanghai')!;
    const firstDay = formatLocal(new Date(second.getTime() - week), 'Asia/Shanghai');
    const created = new Date(second.getTime() - week - 86_400_000);
    const schedule = {
      kind: 'series' as const,
      from: firstDay.slice(0, 10),
      until: formatLocal(new Date(second.getTime() + 2 * week), 'Asia/Shanghai').slice(0, 10),
      weekday: new Date(`${firstDay.slice(0, 10)}T00:00:00Z`).getUTCDay(),
      time: firstDay.slice(11),
      durationMinutes: 90,
    };
    const made = await work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 10, second, { announce: false, schedule }), created, ACTIVITY_SETTINGS));
    expect(made.sessions.map((x) => x.startsAt.getTime() - second.getTime())).toEqual([-week, 0, week, 2 * week]);
    const codes = made.sessions.map((x) => x.checkinCode);
    expect(new Set(codes).size).toBe(4);
    const [past, current, next] = made.sessions as [typeof made.sessions[0], typeof made.sessions[0], typeof made.sessions[0]];
    const mine: Record<string, string> = {};
    for (const x of [past, current, next]) mine[x.id] = (await work.run((uow) => signUp(uow, { sessionId: x.id, personId: parent }, created, TZ))).signupId;
    await work.run((uow) => signUp(uow, { sessionId: current.id, personId: neighbour }, created, TZ));
    const tryCode = (personId: string, code: string) => work.run((uow) => checkIn(uow, personId, code, new Date())).then((r) => r.signupIds, (e: { reason: string }) => e.reason);

    // Last week's code and next week's are not today's: refused, and today's sign-up stays unchecked.
    expect(await tryCode(parent, past.checkinCode)).toBe('checkin_closed');
    expect(await tryCode(parent, next.checkinCode)).toBe('checkin_closed');
    expect(await tryCode(neighbour, past.checkinCode)).toBe('wrong_code');
    const checked = async () => (await database.db.select().from(activitySignups).where(eq(activitySignups.personId, parent))).filter((r) => Object.values(mine).includes(r.id) && r.checkedInAt !== null).map((r) => r.id);
    expect(await checked()).toEqual([]);
    // Today's code checks in today's sign-up only.
    expect(await tryCode(parent, current.checkinCode)).toEqual([mine[current.id]]);
    expect(await checked()).toEqual([mine[current.id]]);
    expect(await tryCode(neighbour, current.checkinCode)).toHaveLength(1);
  });

  it('shows organisers who repeatedly did not come', async () => {
    for (let i = 0; i < 2; i++) {
      const made = await sessionUnderway();
      const code = made.sessions[0]!.checkinCode;
      await work.run((uow) => checkIn(uow, parent, code, new Date()));
      // The session ended: the neighbour never came.
      await database.db.update(activitySessions).set({ endsAt: new Date(Date.now() - 1000) }).where(eq(activitySessions.id, made.sessions[0]!.id));
    }
    const last = await sessionUnderway();
    const shown = await repeatedNoShows(database.db, secretary, last.activityId, new Date());
    expect(shown).toEqual([{ participantId: neighbour, noShows: 2 }]);
    await expect(repeatedNoShows(database.db, colleague, last.activityId, new Date())).rejects.toMatchObject({ reason: 'not_organiser' });
  });

  it('shows a 四点半课堂 child only to its organisers (audited) and deletes the data at the end of term', async () => {
    const now = new Date();
    const from = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
    const until = new Date(now.getTime() + 15 * 86_400_000).toISOString().slice(0, 10);
    const made = await work.run((uow) =>
      createActivity(
        uow,
        secretary,
        { kind: 'after_school', title: '四点半课堂', venue: '社区活动室', communityId: town.community.id, capacity: 20, schedule: { kind: 'series', from, until, weekday: 3, time: '16:30', durationMinutes: 90 }, announce: false },
        now,
        ACTIVITY_SETTINGS,
      ),
    );
    expect(made.sessions.length).toBeGreaterThanOrEqual(2);
    await expect(work.run((uow) => signUp(uow, { sessionId: made.sessions[0]!.id, personId: parent }, now, TZ))).rejects.toMatchObject({ reason: 'child_required' });
    await work.run((uow) => signUp(uow, { sessionId: made.sessions[0]!.id, personId: parent, child }, now, TZ));

    const seen = await work.run((uow) => childrenOf(uow.tx, secretary, made.activityId));
    expect(seen).toEqual([expect.objectContaining({ childName: '小明', guardianName: '李红', guardianPhone: '13800001234' })]);
    // Another staff member of the same community is not an organiser of it; nor is the parent's neighbour.
    await expect(work.run((uow) => childrenOf(uow.tx, colleague, made.activityId))).rejects.toMatchObject({ reason: 'not_organiser' });
    await expect(work.run((uow) => childrenOf(uow.tx, neighbour, made.activityId))).rejects.toMatchObject({ reason: 'not_organiser' });
    const views = await database.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.minors.view'), eq(auditLog.subjectId, made.activityId)));
    expect(views.map((v) => v.actorId)).toEqual([secretary]);

    // The term-end timer is armed at the last session's end; fired then, the data is gone.
    const [timer] = await database.db.select().from(timers).where(and(eq(timers.kind, TERM_END_TIMER), eq(timers.subjectId, made.activityId)));
    const [a] = await database.db.select().from(activities).where(eq(activities.id, made.activityId));
    expect(timer!.dueAt.getTime()).toBe(a!.termEndsAt!.getTime());
    const handlers = new Map([[TERM_END_TIMER, activityTermEndTimer()]]);
    await fireDueTimers({ work, handlers, logger: createLogger('silent') }, { kind: TERM_END_TIMER, now: new Date(timer!.dueAt.getTime() + 1000) });
    expect(await database.db.select().from(afterSchoolChildren).where(eq(afterSchoolChildren.activityId, made.activityId))).toEqual([]);
    const [after] = await database.db.select().from(activities).where(eq(activities.id, made.activityId));
    expect(after!.minorDataPurgedAt).not.toBeNull();
    const purges = await database.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.minors.purge'), eq(auditLog.subjectId, made.activityId)));
    expect(purges[0]!.details).toEqual({ rows: 1 });
  });

  it('counts 服务进社区 events held this year per community and service line against two', async () => {
    const created = new Date(Date.now() - 3 * 3600_000);
    for (const line of ['law', 'law', 'health'] as const) {
      await work.run((uow) =>
        createActivity(uow, secretary, lecture(town.community.id, 30, new Date(Date.now() - 3600_000), { kind: 'service', serviceLine: line, title: '法律服务进社区', announce: false }), created, ACTIVITY_SETTINGS),
      );
    }
    const cells = await serviceCoverage(database.db, town.street.id, new Date(), 'Asia/Shanghai');
    expect(cells.find((c) => c.line === 'law')).toMatchObject({ community: '幸福社区', held: 2, met: true });
    expect(cells.find((c) => c.line === 'health')).toMatchObject({ held: 1, met: false });
    expect(cells.find((c) => c.line === 'jobs')).toMatchObject({ held: 0, met: false });
  });
});
