import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents, cases, channelIdentities, outbox, staffAssignments, timers } from '../../db/schema/index.js';
import type { QueueBackend } from '../../jobs/backend.js';
import { sweepCases } from '../../jobs/cases.js';
import { JOBS } from '../../jobs/registry.js';
import { createWork } from '../../src/work/unit.js';
import type { CaseSettings } from '../../src/cases/effects.js';
import { deadlinePassed } from '../../src/cases/escalation.js';
import { rateCase } from '../../src/cases/feedback.js';
import { acceptCase, closeCase, resolveCase, transferCase } from '../../src/cases/holder.js';
import { submitCase, type NewCase } from '../../src/cases/intake.js';
import { CaseError } from '../../src/cases/record.js';
import { routeCase, routeCases } from '../../src/cases/routing.js';
import { CASE_DEADLINE_TIMER, intakeCase, runCaseTx } from '../../src/cases/run.js';
import { CASE_NUMBER_PATTERN } from '../../src/cases/rules.js';
import { insertOrgUnit } from '../../src/org/tree.js';
import { caseInput, casePeople, categoryId, startCaseJobs, type CasePeople } from '../support/case-fixture.js';
import { createTestDatabase } from '../support/db.js';
import { waitFor } from '../support/wait.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

// Deadlines shrunk 1000×: urgent = 1.8 s to accept and 1.8 s per level above; normal = 7.2 s to accept.
const settings: CaseSettings = { deadlineScale: 0.001, autoCloseDays: 7 };

describe.each(['redis', 'postgres'] as const)('cases on the %s queue backend', (kind) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let who: CasePeople;
  let jobs: Awaited<ReturnType<typeof startCaseJobs>>;
  let backend: QueueBackend;
  let deps: Awaited<ReturnType<typeof startCaseJobs>>['deps'];
  /** A unit of work whose jobs after commit are dropped (a lost route job). */
  let quiet: typeof deps;
  let keys = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    who = await casePeople(database, town);
    jobs = await startCaseJobs(database, { kind, settings, sweepEveryMs: 1000 });
    ({ backend, deps } = jobs);
    quiet = { ...deps, work: createWork({ database, sink: { ...jobs.jobs.sink, enqueue: async () => {} }, logger: deps.logger }) };
  });
  /** The deadline timer armed for a case, if any. */
  const timerOf = async (caseId: string) =>
    (await database.db.select().from(timers).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), eq(timers.subjectId, caseId))))[0];
  afterAll(async () => {
    await jobs?.stop();
    await database?.drop();
  });

  const report = async (over: Partial<NewCase> = {}) => {
    const input = caseInput(town, who, await categoryId(database, 'environment'), { intakeKey: `test:${kind}:${++keys}`, ...over });
    return runCaseTx(deps, (tx, fx) => submitCase(tx, fx, input, new Date()));
  };
  const caseRow = async (id: string) => (await database.db.select().from(cases).where(eq(cases.id, id)))[0]!;
  const eventsOf = async (id: string) => database.db.select().from(caseEvents).where(eq(caseEvents.caseId, id)).orderBy(asc(caseEvents.id));
  /** Texts queued to a person (every channel), oldest first. */
  const textsTo = async (personId: string) => {
    const rows = await database.db
      .select({ payload: outbox.payload })
      .from(outbox)
      .innerJoin(channelIdentities, eq(channelIdentities.id, outbox.identityId))
      .where(eq(channelIdentities.personId, personId))
      .orderBy(asc(outbox.id));
    return rows.map((r) => r.payload as { text: string; choices?: { id: string }[] });
  };
  const assigned = (id: string) => waitFor(async () => ((await caseRow(id)).status === 'assigned' ? caseRow(id) : undefined), 'routing');

  it('gives a readable number at once, stores a repeated intake once, and routes to the grid worker', async () => {
    const first = await report({ intakeKey: `dup:${kind}` });
    const again = await report({ intakeKey: `dup:${kind}` });
    expect(again).toEqual({ caseId: first.caseId, number: first.number, created: false });
    expect(first.number).toMatch(CASE_NUMBER_PATTERN);
    expect(first.number.startsWith('T-')).toBe(true);
    const c = await assigned(first.caseId);
    expect(c).toMatchObject({ assigneeId: who.worker, level: 'grid', gridId: town.grid.id });
    const card = (await textsTo(who.worker)).find((m) => m.text.includes(first.number))!;
    expect(card.choices!.map((x) => x.id)).toContain(`ck:${first.caseId}`);
    expect((await textsTo(who.resident)).some((m) => m.text.includes(first.number))).toBe(true);
    const kinds = (await eventsOf(first.caseId)).map((e) => e.kind);
    expect(kinds).toEqual(['submitted', 'assigned']);
  });

  it('routes by the duty list: sub-committee without members → community; department → above; worker on leave → backup', async () => {
    const dispute = await report({ categoryId: await categoryId(database, 'neighbour') });
    expect(await assigned(dispute.caseId)).toMatchObject({ level: 'community', assigneeId: who.secretary, assigneeSubCommittee: 'mediation' });

    const heating = await report({ categoryId: await categoryId(database, 'heating') });
    expect(await assigned(heating.caseId)).toMatchObject({ level: 'county', assigneeId: who.county });
    expect((await textsTo(who.resident)).some((m) => m.text.includes(heating.number) && m.text.includes('市住建局'))).toBe(true);

    await database.db.update(staffAssignments).set({ onLeave: true }).where(eq(staffAssignments.personId, who.worker));
    try {
      const onLeave = await report();
      expect(await assigned(onLeave.caseId)).toMatchObject({ level: 'grid', assigneeId: who.backup });
      expect((await eventsOf(onLeave.caseId))[1]!.reason).toBe('backup');
    } finally {
      await database.db.update(staffAssignments).set({ onLeave: false }).where(eq(staffAssignments.personId, who.worker));
    }
  });

  it('runs accept → resolve → 不满意 (重办, shorter deadline) → resolve → 满意, telling the resident each step', async () => {
    const { caseId, number } = await report();
    await assigned(caseId);
    const accepted = await runCaseTx(deps, (tx, fx) => acceptCase(tx, fx, caseId, who.worker, settings, new Date()));
    const firstResolveWindow = accepted.due.getTime() - Date.now();
    await expect(runCaseTx(deps, (tx, fx) => acceptCase(tx, fx, caseId, who.worker, settings, new Date()))).rejects.toThrow(CaseError);
    await expect(runCaseTx(deps, (tx, fx) => resolveCase(tx, fx, caseId, who.otherWorker, '已清理', null, settings, new Date()))).rejects.toMatchObject({ reason: 'not_yours' });
    await runCaseTx(deps, (tx, fx) => resolveCase(tx, fx, caseId, who.worker, '已清理', null, settings, new Date()));
    const resolvedMsg = (await textsTo(who.resident)).find((m) => m.text.includes(`${number} 已办结`))!;
    expect(resolvedMsg.choices!.map((c) => c.id)).toEqual([`cr:${caseId}:s`, `cr:${caseId}:b`, `cr:${caseId}:u`]);

    await expect(runCaseTx(deps, (tx, fx) => rateCase(tx, fx, caseId, who.neighbour, 'satisfied', settings, new Date()))).rejects.toMatchObject({ reason: 'not_yours' });
    const reopened = await runCaseTx(deps, (tx, fx) => rateCase(tx, fx, caseId, who.resident, 'unsatisfied', settings, new Date()));
    expect(reopened.outcome).toBe('reopened');
    const c = await caseRow(caseId);
    // 重办: back with the same worker, who accepts it again and then has half the normal time to resolve.
    expect(c).toMatchObject({ status: 'assigned', assigneeId: who.worker, reopenCount: 1 });
    const workerHeard = (await textsTo(who.worker)).filter((m) => m.text.includes(number));
    const reopenCard = workerHeard.find((m) => m.text.includes('重办'))!;
    expect(reopenCard.text).toContain('居民评价：不满意');
    expect(reopenCard.choices!.map((x) => x.id)).toContain(`ck:${caseId}`);
    const again = await runCaseTx(deps, (tx, fx) => acceptCase(tx, fx, caseId, who.worker, settings, new Date()));
    expect(again.due.getTime() - Date.now()).toBeLessThan(firstResolveWindow * 0.6);

    await runCaseTx(deps, (tx, fx) => resolveCase(tx, fx, caseId, who.worker, '已彻底清理', null, settings, new Date()));
    const closed = await runCaseTx(deps, (tx, fx) => rateCase(tx, fx, caseId, who.resident, 'satisfied', settings, new Date()));
    expect(closed.outcome).toBe('closed');
    expect(await caseRow(caseId)).toMatchObject({ status: 'closed', rating: 'satisfied', closeReason: 'rated' });
    expect((await eventsOf(caseId)).map((e) => e.kind)).toEqual([
      'submitted',
      'assigned',
      'accepted',
      'resolved',
      'rated',
      'reopened',
      'accepted',
      'resolved',
      'rated',
      'closed',
    ]);
  });

  it('transfers to another grid with a reason; the new worker gets the card', async () => {
    const { caseId, number } = await report();
    await assigned(caseId);
    await runCaseTx(deps, (tx, fx) => transferCase(tx, fx, caseId, who.worker, { kind: 'grid', gridId: town.otherGrid.id }, '属于第二网格', settings, new Date()));
    expect(await caseRow(caseId)).toMatchObject({ status: 'assigned', assigneeId: who.otherWorker, gridId: town.otherGrid.id });
    expect((await textsTo(who.otherWorker)).some((m) => m.text.includes(number))).toBe(true);
    expect((await eventsOf(caseId)).at(-1)).toMatchObject({ kind: 'transferred', reason: '属于第二网格' });
  });

  it('climbs grid → community → street → county when nobody accepts, each level told once', async () => {
    const { caseId, number } = await report({ priority: 'urgent' });
    await waitFor(async () => ((await caseRow(caseId)).level === 'county' ? true : undefined), 'escalation to the county', 30_000);
    const escalations = (await eventsOf(caseId)).filter((e) => e.kind === 'escalated');
    expect(escalations.map((e) => e.level)).toEqual(['community', 'street', 'county']);
    for (const leader of [who.secretary, who.street, who.county]) {
      const cards = (await textsTo(leader)).filter((m) => m.text.includes(number) && m.text.startsWith('督办'));
      expect(cards).toHaveLength(1);
      expect(cards[0]!.choices!.map((c) => c.id)).toEqual([`co:${caseId}`, `cg:${caseId}`, `cm:${caseId}`]);
    }
    // Urgent: community and street heard at once, before any deadline passed.
    expect((await textsTo(who.street)).find((m) => m.text.includes(number))!.text.startsWith('紧急事件')).toBe(true);
    // The resident hears "escalated" once, not once per level.
    expect((await textsTo(who.resident)).filter((m) => m.text.includes(number) && m.text.includes('提级督办'))).toHaveLength(1);
  });

  it('fails a case job with an unreadable payload once, without retrying or touching a case', async () => {
    const q = new backend.classes.Queue(JOBS.caseRoute.name, { ...backend.connectionOptions() } as any);
    try {
      await q.add('route', { caseId: 'not-a-uuid' }, { jobId: `bad-${kind}`, attempts: 5 });
      const job = await waitFor(async () => {
        const j = await q.getJob(`bad-${kind}`);
        return j && (await j.getState()) === 'failed' ? q.getJob(`bad-${kind}`) : undefined;
      }, 'the bad job to fail');
      expect(job!.failedReason).toBe('invalid case-route payload');
      expect(job!.attemptsMade).toBe(1);
    } finally {
      await q.close();
    }
  });

  it('escalates each deadline once however often its timer fires', async () => {
    const { caseId } = await report();
    const c = await assigned(caseId);
    const late = new Date(c.dueAt!.getTime() + 1);
    const results = await Promise.all(
      [1, 2, 3].map(() => runCaseTx(deps, (tx, fx) => deadlinePassed(tx, fx, caseId, c.deadlineSeq, settings, late))),
    );
    expect(results.filter((r) => r === 'escalated')).toHaveLength(1);
    expect((await eventsOf(caseId)).filter((e) => e.kind === 'escalated')).toHaveLength(1);
    // An early timer is told to come back at the due time instead of acting.
    const now = await caseRow(caseId);
    const early = await runCaseTx(deps, (tx, fx) => deadlinePassed(tx, fx, caseId, now.deadlineSeq, settings, new Date(now.dueAt!.getTime() - 1000)));
    expect(early).toEqual({ early: now.dueAt });
  });

  it('loses no deadline when the queue is wiped: the timer sweep escalates every overdue case once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await report({ intakeKey: `wipe:${kind}:${i}` })).caseId);
    await Promise.all(ids.map((id) => assigned(id)));
    // Every pending wake-up is gone (Redis flushed / restarted without persistence).
    const q = new backend.classes.Queue(JOBS.timerWake.name, { ...backend.connectionOptions() } as any);
    await q.obliterate({ force: true });
    await q.close();
    const past = new Date(Date.now() - 1000);
    await database.db.update(cases).set({ dueAt: past }).where(inArray(cases.id, ids));
    await database.db.update(timers).set({ dueAt: past, data: { dueAt: past.getTime() } }).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), inArray(timers.subjectId, ids)));
    await waitFor(async () => {
      const rows = await database.db.select({ level: cases.level }).from(cases).where(inArray(cases.id, ids));
      return rows.every((r) => r.level === 'community') || undefined;
    }, 'the sweep to escalate', 10_000);
    const escalated = await database.db
      .select({ caseId: caseEvents.caseId })
      .from(caseEvents)
      .where(and(inArray(caseEvents.caseId, ids), eq(caseEvents.kind, 'escalated')));
    expect(escalated).toHaveLength(5);
    // A second sweep over the same state finds nothing more to do for these deadlines.
    await sweepCases({ ...deps, settings }, new Date());
    await new Promise((r) => setTimeout(r, 1500));
    const after = await database.db
      .select({ caseId: caseEvents.caseId })
      .from(caseEvents)
      .where(and(inArray(caseEvents.caseId, ids), eq(caseEvents.kind, 'escalated')));
    expect(after).toHaveLength(5);
  });

  it('routes a case whose route job was lost, via the sweep', async () => {
    const { caseId } = await runCaseTx(
      quiet,
      async (tx, fx) =>
        submitCase(
          tx,
          fx,
          caseInput(town, who, await categoryId(database, 'environment'), { intakeKey: `lost-route:${kind}`, description: '路灯不亮' }),
          new Date(Date.now() - 60_000),
        ),
    );
    expect((await caseRow(caseId)).status).toBe('submitted');
    await waitFor(async () => ((await caseRow(caseId)).status === 'assigned' ? true : undefined), 'the sweep to route', 10_000);
  });

  it('closes with a reason and where it went, never a bare "not responsible"; duplicates join the original', async () => {
    const notOurs = await report();
    await assigned(notOurs.caseId);
    await runCaseTx(deps, (tx, fx) => closeCase(tx, fx, notOurs.caseId, who.worker, 'not_our_duty', '已转市水务集团，电话 12345', new Date()));
    expect(await caseRow(notOurs.caseId)).toMatchObject({ status: 'closed', closeReason: 'not_our_duty', closeNote: '已转市水务集团，电话 12345' });
    const told = (await textsTo(who.resident)).find((m) => m.text.startsWith(`${notOurs.number} 已关闭`))!;
    expect(told.text).toContain('已转市水务集团，电话 12345');
    await expect(runCaseTx(deps, (tx, fx) => closeCase(tx, fx, notOurs.caseId, who.worker, 'duplicate', 'x', new Date()))).rejects.toMatchObject({ reason: 'not_allowed' });

    const original = await report({ reporterId: who.neighbour });
    const copy = await report();
    await Promise.all([assigned(original.caseId), assigned(copy.caseId)]);
    await expect(runCaseTx(deps, (tx, fx) => closeCase(tx, fx, copy.caseId, who.otherWorker, 'duplicate', original.number, new Date()))).rejects.toMatchObject({ reason: 'not_yours' });
    await runCaseTx(deps, (tx, fx) => closeCase(tx, fx, copy.caseId, who.worker, 'duplicate', original.number.toLowerCase(), new Date()));
    expect(await caseRow(copy.caseId)).toMatchObject({ status: 'closed', closeReason: 'duplicate', duplicateOf: original.caseId });
    // Both reporters now hear how the original ends.
    await runCaseTx(deps, (tx, fx) => resolveCase(tx, fx, original.caseId, who.worker, '已修好', null, settings, new Date()));
    for (const person of [who.resident, who.neighbour]) {
      expect((await textsTo(person)).some((m) => m.text.startsWith(`${original.number} 已办结`))).toBe(true);
    }
  });

  it('reminds the worker before the accept deadline until they act, then stops', async () => {
    const { caseId, number } = await report();
    await assigned(caseId);
    // Normal priority at 1/1000: 7.2 s to accept; reminders at 50 % and 80 % of the window.
    const reminders = async () => (await textsTo(who.worker)).filter((m) => m.text.startsWith(`提醒：${number}`));
    await waitFor(async () => ((await reminders()).length >= 1 ? true : undefined), 'the first reminder', 10_000);
    expect((await reminders())[0]!.choices!.map((c) => c.id)).toEqual([`ck:${caseId}`]);
    await runCaseTx(deps, (tx, fx) => acceptCase(tx, fx, caseId, who.worker, settings, new Date()));
    const after = (await reminders()).length;
    // Accepting starts the resolve deadline: the case's one deadline timer is now that one (seq 2),
    // so the accept deadline can neither remind again nor fire.
    expect(await timerOf(caseId)).toMatchObject({ seq: 2 });
    await new Promise((r) => setTimeout(r, 4000));
    expect((await reminders()).length).toBe(after);
    expect(after).toBeLessThanOrEqual(2);
  });

  it('closes a resolved case nobody rated as 默认满意 when the rating period ends', async () => {
    const { caseId, number } = await report();
    await assigned(caseId);
    const quick: CaseSettings = { deadlineScale: 0.000001, autoCloseDays: 7 }; // 7 days → 0.6 s
    await runCaseTx(deps, (tx, fx) => resolveCase(tx, fx, caseId, who.worker, '已处理', null, quick, new Date()));
    await waitFor(async () => ((await caseRow(caseId)).status === 'closed' ? true : undefined), 'auto close', 10_000);
    expect(await caseRow(caseId)).toMatchObject({ closeReason: 'default_satisfied', rating: null });
    expect((await textsTo(who.resident)).some((m) => m.text.includes(number) && m.text.includes('默认满意'))).toBe(true);
  });
  // Last: the bursts leave many deadline timers running, which would slow the timer tests above.
  /** Cases stored without their route jobs (a scheduler that drops timers), for routing by hand. */
  const waitingCases = async (n: number, categoryCode = 'environment') => {
    const category = await categoryId(database, categoryCode);
    const out: { caseId: string; number: string }[] = [];
    for (let i = 0; i < n; i++) {
      const input = caseInput(town, who, category, {
        intakeKey: `burst:${kind}:${++keys}`,
        placeId: town.households[i % town.households.length]!.id,
        description: `第 ${i} 号楼道堆物`,
      });
      out.push(await intakeCase(quiet, input, new Date()));
    }
    return out;
  };

  it('routes a burst in batches: each case once, one card and one notice each, one timer per deadline', async () => {
    const burst = await waitingCases(120);
    const ids = burst.map((c) => c.caseId);
    await jobs.jobs.enqueueMany(JOBS.caseRoute, ids.map((caseId) => ({ caseId })));
    await waitFor(
      async () => ((await database.db.select({ id: cases.id }).from(cases).where(and(inArray(cases.id, ids), eq(cases.status, 'assigned')))).length === ids.length ? true : undefined),
      'the burst to be routed',
      30_000,
    );
    const events = await database.db.select().from(caseEvents).where(and(inArray(caseEvents.caseId, ids), eq(caseEvents.kind, 'assigned')));
    expect(events).toHaveLength(ids.length);
    expect(new Set(events.map((e) => e.caseId)).size).toBe(ids.length);
    // Batches: a whole batch shares one transaction and its timestamp.
    expect(new Set(events.map((e) => e.at.getTime())).size).toBeLessThan(ids.length / 4);
    const cards = (await textsTo(who.worker)).flatMap((m) => m.choices ?? []).filter((c) => c.id.startsWith('ck:'));
    const notices = (await textsTo(who.resident)).map((m) => m.text);
    for (const { caseId, number } of burst) {
      expect(cards.filter((c) => c.id === `ck:${caseId}`)).toHaveLength(1);
      expect(notices.filter((t) => t.includes(number))).toHaveLength(1);
    }
    // One timer per deadline, carrying its reminder times, written with the routing.
    const routeQueue = new backend.classes.Queue(JOBS.caseRoute.name, { ...backend.connectionOptions() } as any);
    try {
      const armed = await database.db.select().from(timers).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), inArray(timers.subjectId, ids)));
      expect(armed).toHaveLength(ids.length);
      const timer = armed.find((t) => t.subjectId === ids[7])!;
      expect(timer).toMatchObject({ seq: 1 });
      expect(timer.data.remindAt).toHaveLength(2);
      // Every route job ends: completed (it routed a batch, or found its case routed) or taken off
      // the queue by the batch that routed its case. None fails.
      const ended = async (id: string) => {
        const job = await routeQueue.getJob(JOBS.caseRoute.id!({ caseId: id }));
        return !job || (await job.getState()) === 'completed';
      };
      await waitFor(async () => ((await Promise.all(ids.map(ended))).every(Boolean) ? true : undefined), 'route jobs to end');
    } finally {
      await routeQueue.close();
    }
  });

  it('lets two routers work at once on disjoint batches, the second skipping what the first holds', async () => {
    // Heating goes to the county official, the rest to the grid worker: the two batches then
    // share no staff chat (whose "last choices" row would make the second wait for the first).
    const heating = (await waitingCases(15, 'heating')).map((c) => c.caseId);
    const rest = (await waitingCases(25)).map((c) => c.caseId);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let tookFirst!: (ids: string[]) => void;
    const firstTook = new Promise<string[]>((r) => (tookFirst = r));
    const first = runCaseTx(deps, async (tx, fx) => {
      const { routed } = await routeCases(tx, fx, { first: heating[0]!, limit: 15 }, settings, new Date());
      tookFirst(routed);
      await held; // the rows stay locked while the second router runs
      return routed;
    });
    try {
      const a = await firstTook;
      expect(new Set(a)).toEqual(new Set(heating));
      // Asked for the same first case and everything else: it skips the 15 held rows.
      const b = await runCaseTx(deps, (tx, fx) => routeCases(tx, fx, { first: heating[0]!, limit: 40 }, settings, new Date()));
      expect(new Set(b.routed)).toEqual(new Set(rest));
    } finally {
      release();
      await first;
    }
    const events = await database.db.select().from(caseEvents).where(and(inArray(caseEvents.caseId, [...heating, ...rest]), eq(caseEvents.kind, 'assigned')));
    expect(events).toHaveLength(40);
  });

  it('routes the rest of a batch when one case cannot be routed, which stays waiting and fails on its own', async () => {
    // A community filed straight under the county, with no street: an urgent case there must tell
    // the street at once, and there is none.
    const orphan = await database.db.transaction((tx) =>
      insertOrgUnit(tx, { kind: 'community', parentId: town.county.id, code: `T-ORPHAN-${kind}`, name: '直属社区' }),
    );
    const bad = await intakeCase(
      quiet,
      caseInput(town, who, await categoryId(database, 'environment'), {
        intakeKey: `orphan:${kind}`,
        communityId: orphan.id,
        placeId: null,
        priority: 'urgent',
        description: '路灯不亮，晚上很危险',
      }),
      new Date(),
    );
    try {
      const good = (await waitingCases(3)).map((c) => c.caseId);
      const result = await runCaseTx(deps, (tx, fx) => routeCases(tx, fx, { ids: [bad.caseId, ...good] }, settings, new Date()));
      expect(new Set(result.routed)).toEqual(new Set(good));
      expect(result.failed.map((f) => f.caseId)).toEqual([bad.caseId]);
      expect(result.failed[0]!.error.message).toContain('no street');
      expect((await caseRow(bad.caseId)).status).toBe('submitted');
      expect((await eventsOf(bad.caseId)).map((e) => e.kind)).toEqual(['submitted']);
      for (const id of good) expect((await caseRow(id)).status).toBe('assigned');
      // Alone, it fails loudly (its job retries; the sweep tries again).
      await expect(runCaseTx(deps, (tx, fx) => routeCase(tx, fx, bad.caseId, settings, new Date()))).rejects.toThrow('no street');
    } finally {
      await database.db.delete(cases).where(eq(cases.id, bad.caseId));
    }
  });
});
