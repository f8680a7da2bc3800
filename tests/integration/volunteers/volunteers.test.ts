import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timers, visitMisses, volunteerTasks } from '../../../db/schema/index.js';
import { visitDueTimer } from '../../../jobs/volunteers.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { fireDueTimers } from '../../../src/timers/fire.js';
import { confirmHours, ledger, monthlySummary } from '../../../src/volunteers/hours.js';
import { reportAsPartyMember, reportedPartyMembers, saveProfile } from '../../../src/volunteers/profile.js';
import { monthKey } from '../../../src/volunteers/rules.js';
import { createTask, fittingTasks, signUpForTask, withdrawFromTask } from '../../../src/volunteers/tasks.js';
import { createRoster, logVisit, missedVisits, VISIT_DUE_TIMER } from '../../../src/volunteers/visits.js';
import type { Work } from '../../../src/work/unit.js';
import { quietWork, textsFor } from '../../support/activity-fixture.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../../support/db.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

const H = 3600_000;

describe('volunteers: profiles, tasks, hours and visits (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let work: Work;
  let secretary: string;
  let barber: string;
  let companion: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    work = quietWork(database);
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    barber = await makePerson(database, { householdId: town.households[0]!.id });
    companion = await makePerson(database, { householdId: town.households[1]!.id });
    await database.db.transaction(async (tx) => {
      await saveProfile(tx, barber, { communityId: town.community.id, skills: ['理发'], team: '红马甲服务队' });
      await saveProfile(tx, companion, { communityId: town.community.id, skills: ['陪伴'], team: '夕阳红服务队' });
    });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('shows each volunteer the tasks that fit; sign-up and withdrawal move the slots, never past them', async () => {
    const startsAt = new Date(Date.now() + 48 * H);
    const haircut = await database.db.transaction((tx) => createTask(tx, secretary, { communityId: town.community.id, title: '义务理发', place: '社区广场', startsAt, endsAt: new Date(startsAt.getTime() + 2 * H), slots: 1, skills: ['理发'] }));
    await database.db.transaction((tx) => createTask(tx, secretary, { communityId: town.community.id, title: '楼道清扫', place: '3号楼', startsAt, endsAt: new Date(startsAt.getTime() + H), slots: 5 }));
    expect((await fittingTasks(database.db, barber, new Date())).map((t) => t.title)).toEqual(['义务理发', '楼道清扫']);
    expect((await fittingTasks(database.db, companion, new Date())).map((t) => t.title)).toEqual(['楼道清扫']);
    await work.run((uow) => signUpForTask(uow, barber, haircut.id, new Date()));
    await expect(work.run((uow) => signUpForTask(uow, companion, haircut.id, new Date()))).rejects.toMatchObject({ reason: 'full' });
    await work.run((uow) => withdrawFromTask(uow, barber, haircut.id, new Date()));
    await work.run((uow) => signUpForTask(uow, companion, haircut.id, new Date()));
    const [t] = await database.db.select().from(volunteerTasks).where(eq(volunteerTasks.id, haircut.id));
    expect(t!.taken).toBe(1);
  });

  it('the organiser confirms who came and the hours; the ledger and the monthly summary show them', async () => {
    const startsAt = new Date(Date.now() - 3 * H);
    const visit = await database.db.transaction((tx) => createTask(tx, secretary, { communityId: town.community.id, kind: 'visit', title: '独居老人探访', place: '7号楼', startsAt: new Date(Date.now() + H), endsAt: new Date(Date.now() + 3 * H), slots: 3 }));
    for (const p of [barber, companion]) await work.run((uow) => signUpForTask(uow, p, visit.id, new Date()));
    // The task has taken place.
    await database.db.update(volunteerTasks).set({ startsAt, endsAt: new Date(startsAt.getTime() + 2 * H) }).where(eq(volunteerTasks.id, visit.id));
    await expect(work.run((uow) => confirmHours(uow, secretary, visit.id, [{ personId: barber, hours: 3 }], new Date()))).rejects.toMatchObject({ reason: 'too_many_hours' });
    await expect(work.run((uow) => confirmHours(uow, barber, visit.id, [{ personId: barber, hours: 2 }], new Date()))).rejects.toMatchObject({ reason: 'not_organiser' });
    expect(await work.run((uow) => confirmHours(uow, secretary, visit.id, [{ personId: barber, hours: 2 }], new Date()))).toBe(1);
    expect(await ledger(database.db, barber)).toMatchObject({ total: 2, rows: [{ hours: 2, title: '独居老人探访' }] });
    expect((await ledger(database.db, companion)).total).toBe(0);
    expect((await textsFor(database, barber)).at(-1)).toContain('2 小时');
    const summary = await monthlySummary(database.db, secretary, town.community.id, monthKey(startsAt, 'Asia/Shanghai'), 'Asia/Shanghai');
    expect(summary).toEqual([{ communityId: town.community.id, community: '幸福社区', team: '红马甲服务队', hours: 2, volunteers: 1, services: 1 }]);
  });

  it('records 在职党员报到 with the home community, which sees who reported', async () => {
    const member = await makePerson(database);
    await database.db.transaction((tx) => reportAsPartyMember(tx, member, { homeCommunityId: town.community.id, workUnit: '市税务局机关党支部' }, new Date()));
    const seen = await reportedPartyMembers(database.db, secretary, town.community.id);
    expect(seen.map((r) => [r.personId, r.workUnit])).toEqual([[member, '市税务局机关党支部']]);
    const outsider = await makePerson(database);
    await assign(database, outsider, 'grid_worker', town.otherGrid.id);
    await expect(reportedPartyMembers(database.db, outsider, town.community.id)).rejects.toMatchObject({ reason: 'outside_area' });
  });

  it('flags a missed 巡访 to the community when a period ends without a visit, and not when it had one', async () => {
    const s = { config: loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }) } as Parameters<typeof visitDueTimer>[0];
    const handlers = new Map([[VISIT_DUE_TIMER, visitDueTimer(s)]]);
    const fire = (at: Date) => fireDueTimers({ work, handlers, logger: createLogger('silent') }, { kind: VISIT_DUE_TIMER, now: at });
    const due = new Date(Date.now() + 1000);
    const rosterId = await work.run((uow) => createRoster(uow, secretary, { communityId: town.community.id, volunteerId: companion, visitee: '7号楼1单元101 张奶奶', everyDays: 7, firstDueAt: due }, new Date()));
    await expect(work.run((uow) => logVisit(uow, barber, rosterId, '不是我的', new Date()))).rejects.toMatchObject({ reason: 'not_assigned' });
    await work.run((uow) => logVisit(uow, companion, rosterId, '老人身体不错，已帮忙买菜。', new Date()));
    await fire(new Date(due.getTime() + 10));
    expect(await database.db.select().from(visitMisses).where(eq(visitMisses.rosterId, rosterId))).toEqual([]);
    // The next period is armed (seq 2) a week later; nobody visits in it.
    const [next] = await database.db.select().from(timers).where(and(eq(timers.kind, VISIT_DUE_TIMER), eq(timers.subjectId, rosterId)));
    expect(next).toMatchObject({ seq: 2 });
    expect(next!.dueAt.getTime()).toBe(due.getTime() + 7 * 86_400_000);
    await fire(new Date(next!.dueAt.getTime() + 10));
    const flagged = await missedVisits(database.db, secretary, town.community.id);
    expect(flagged).toEqual([expect.objectContaining({ rosterId, visitee: '7号楼1单元101 张奶奶', volunteerId: companion })]);
    expect((await textsFor(database, secretary)).at(-1)).toContain('巡访未完成');
    expect((await textsFor(database, companion)).at(-1)).toContain('未登记');
  });
});
