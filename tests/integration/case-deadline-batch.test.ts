import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents, cases, channelIdentities, outbox, timers } from '../../db/schema/index.js';
import { caseDeadlineTimer } from '../../jobs/cases.js';
import type { CaseSettings } from '../../src/cases/effects.js';
import { deadlinesPassed } from '../../src/cases/escalation.js';
import { acceptCase, resolveCase } from '../../src/cases/holder.js';
import { submitCase } from '../../src/cases/intake.js';
import { routeCases } from '../../src/cases/routing.js';
import { CASE_DEADLINE_TIMER, runCaseTx } from '../../src/cases/run.js';
import { createLogger } from '../../src/log.js';
import { fireDueTimers } from '../../src/timers/fire.js';
import type { TimerSpec } from '../../src/timers/timers.js';
import { createWork } from '../../src/work/unit.js';
import { caseInput, casePeople, categoryId, type CasePeople } from '../support/case-fixture.js';
import { connect } from '../../db/client.js';
import { createTestDatabase } from '../support/db.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

// Real deadlines (scale 1): nothing falls due by itself during the test; the test moves them into the past.
const settings: CaseSettings = { deadlineScale: 1, autoCloseDays: 7 };

/**
 * Case deadlines falling due together escalate set-based (src/cases/escalation.ts
 * deadlinesPassed through the timer handler's fireMany): one batch, each case once, exactly what
 * one-by-one escalation did; a batch fired again does nothing twice; a bad timer in the batch
 * sends the batch one by one, so the others still escalate and only it is retried.
 */
describe('a batch of case deadlines', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let who: CasePeople;
  let keys = 0;
  const woken: TimerSpec[] = [];
  const logger = createLogger('silent');
  let work: ReturnType<typeof createWork>;
  let fire: () => ReturnType<typeof fireDueTimers>;
  /** The same, on a pool that counts the statements it sends (BEGIN and COMMIT included). */
  let counted: ReturnType<typeof connect>;
  let statements = 0;
  let fireCounted: () => ReturnType<typeof fireDueTimers>;

  beforeAll(async () => {
    // The pool that was open while the migrations ran serves the test: they run on a connection of
    // their own (db/client.ts), so this pool learns the enum array types routeCases binds.
    database = await createTestDatabase();
    town = await createSmallTown(database);
    who = await casePeople(database, town);
    // No queues: what reaches people stays in the outbox, wake-ups are only recorded.
    work = createWork({ database, logger, sink: { deliver: async () => {}, enqueue: async () => {}, wake: async (t) => void woken.push(...t) } });
    const handler = caseDeadlineTimer({ caseSettings: settings } as Parameters<typeof caseDeadlineTimer>[0]);
    fire = () => fireDueTimers({ work, logger, handlers: new Map([[handler.kind, handler]]) }, { kind: CASE_DEADLINE_TIMER, limit: 200 });
    // Statements the work sends; not the type lookup postgres.js makes when it opens a connection.
    counted = connect(database.url, { onQuery: (q) => void (q.includes('pg_catalog.pg_type') || statements++) });
    const countedWork = createWork({ database: counted, logger, sink: { deliver: async () => {}, enqueue: async () => {}, wake: async () => {} } });
    fireCounted = () => fireDueTimers({ work: countedWork, logger, handlers: new Map([[handler.kind, handler]]) }, { kind: CASE_DEADLINE_TIMER, limit: 200 });
  });
  afterAll(async () => {
    await counted?.close();
    await database?.close();
    await database?.drop();
  });

  /** `n` cases routed to the grid worker, their deadline timers armed. */
  const routed = async (n: number) => {
    const category = await categoryId(database, 'environment');
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const input = caseInput(town, who, category, { intakeKey: `batch:${++keys}`, description: `第 ${i} 号楼道堆物` });
      ids.push((await runCaseTx({ work }, (tx, fx) => submitCase(tx, fx, input, new Date()))).caseId);
    }
    const result = await runCaseTx({ work }, (tx, fx) => routeCases(tx, fx, { ids }, settings, new Date()));
    expect(result.routed).toHaveLength(n);
    return ids;
  };
  /** Their running deadlines passed a second ago (case rows and timers alike). */
  const overdue = async (ids: string[]) => {
    const past = new Date(Date.now() - 1000);
    await database.db.update(cases).set({ dueAt: past }).where(inArray(cases.id, ids));
    await database.db.update(timers).set({ dueAt: past, data: { dueAt: past.getTime() } }).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), inArray(timers.subjectId, ids)));
  };
  const eventsOf = async (ids: string[], kind: 'escalated' | 'closed') =>
    database.db.select().from(caseEvents).where(and(inArray(caseEvents.caseId, ids), eq(caseEvents.kind, kind))).orderBy(asc(caseEvents.id));
  const textsTo = async (personId: string) =>
    (
      await database.db
        .select({ payload: outbox.payload })
        .from(outbox)
        .innerJoin(channelIdentities, eq(channelIdentities.id, outbox.identityId))
        .where(eq(channelIdentities.personId, personId))
        .orderBy(asc(outbox.id))
    ).map((r) => (r.payload as { text: string }).text);

  it('escalates open cases and closes unrated resolved ones in one batch, each once, with their cards and next deadlines', async () => {
    const open = await routed(12);
    const [resolved] = await routed(1);
    await runCaseTx({ work }, (tx, fx) => acceptCase(tx, fx, resolved!, who.worker, settings, new Date()));
    await runCaseTx({ work }, (tx, fx) => resolveCase(tx, fx, resolved!, who.worker, '已清理', null, settings, new Date()));
    await overdue([...open, resolved!]);
    const numbers = new Map((await database.db.select({ id: cases.id, number: cases.number }).from(cases).where(inArray(cases.id, open))).map((r) => [r.id, r.number]));
    const secretaryBefore = (await textsTo(who.secretary)).length;
    const residentBefore = (await textsTo(who.resident)).length;
    woken.length = 0;

    expect(await fire()).toEqual({ claimed: 13, fired: 13, failed: 0 });

    const rows = await database.db.select().from(cases).where(inArray(cases.id, open));
    for (const c of rows) expect(c).toMatchObject({ level: 'community', status: 'assigned', escalatedSeq: 1, deadlineSeq: 2 });
    const escalated = await eventsOf(open, 'escalated');
    expect(escalated.map((e) => e.caseId).sort()).toEqual([...open].sort());
    for (const e of escalated) expect(e).toMatchObject({ level: 'community', reason: 'missed_accept', fromStatus: 'assigned', toStatus: 'assigned', details: { from: 'grid', to: 'community', seq: 1 } });
    // The community's secretary gets one card per case; the reporter hears each went up.
    const cards = (await textsTo(who.secretary)).slice(secretaryBefore);
    expect(cards).toHaveLength(open.length);
    for (const id of open) expect(cards.filter((t) => t.includes(numbers.get(id)!))).toHaveLength(1);
    const told = (await textsTo(who.resident)).slice(residentBefore);
    expect(told.filter((t) => t.includes('默认满意'))).toHaveLength(1);
    expect(told).toHaveLength(open.length + 1);
    // The next rung's deadline is armed (seq 2) and woken after commit; the resolved case closed.
    const next = await database.db.select().from(timers).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), inArray(timers.subjectId, open)));
    expect(next.map((t) => t.seq)).toEqual(open.map(() => 2));
    expect(woken.filter((t) => t.seq === 2).map((t) => t.subjectId).sort()).toEqual([...open].sort());
    expect((await database.db.select().from(cases).where(eq(cases.id, resolved!)))[0]).toMatchObject({ status: 'closed', closeReason: 'default_satisfied', dueAt: null });
    expect(await eventsOf([resolved!], 'closed')).toHaveLength(1);

    // Nothing is due any more; a retried batch (the same deadlines again) changes nothing.
    expect(await fire()).toEqual({ claimed: 0, fired: 0, failed: 0 });
    const again = await runCaseTx({ work }, (tx, fx) => deadlinesPassed(tx, fx, [...open, resolved!].map((caseId) => ({ caseId, seq: 1 })), settings, new Date()));
    expect(again.every((r) => r === 'skipped')).toBe(true);
    expect(await eventsOf(open, 'escalated')).toHaveLength(open.length);
    expect((await textsTo(who.secretary)).length).toBe(secretaryBefore + open.length);
  });

  it('costs the same statements for 3 deadlines as for 30: set-based, not one escalation after another', async () => {
    const cost = async (n: number) => {
      const ids = await routed(n);
      await overdue(ids);
      statements = 0;
      expect(await fireCounted()).toEqual({ claimed: n, fired: n, failed: 0 });
      expect(await eventsOf(ids, 'escalated')).toHaveLength(n);
      return statements;
    };
    const few = await cost(3);
    expect(await cost(30)).toBe(few);
    // BEGIN, claim, lock, six reads, update, timeline, recipients, outbox, finish, next timers, COMMIT.
    expect(few).toBeLessThanOrEqual(17);
  });

  it('tells a timer that fires early to come back at the deadline, beside others that escalate', async () => {
    const ids = await routed(3);
    await overdue(ids);
    // One case's deadline moved later after its timer woke (clocks disagree): it is early.
    const later = new Date(Date.now() + 3_600_000);
    await database.db.update(cases).set({ dueAt: later }).where(eq(cases.id, ids[0]!));
    expect(await fire()).toEqual({ claimed: 3, fired: 2, failed: 0 });
    expect((await eventsOf(ids, 'escalated')).map((e) => e.caseId).sort()).toEqual(ids.slice(1).sort());
    const [early] = await database.db.select().from(timers).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), eq(timers.subjectId, ids[0]!)));
    expect(early).toMatchObject({ seq: 1, attempts: 0 });
    expect(early!.dueAt.getTime()).toBe(later.getTime());
  });

  it('fires a batch with one bad timer one by one: the others escalate, only the bad one is retried', async () => {
    const ids = await routed(6);
    await overdue(ids);
    // A timer whose data no longer parses: its handler throws.
    await database.db.update(timers).set({ data: { dueAt: 'soon' } }).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), eq(timers.subjectId, ids[2]!)));
    expect(await fire()).toEqual({ claimed: 6, fired: 5, failed: 1 });
    const escalated = await eventsOf(ids, 'escalated');
    expect(escalated.map((e) => e.caseId).sort()).toEqual(ids.filter((_, i) => i !== 2).sort());
    const [bad] = await database.db.select().from(timers).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), eq(timers.subjectId, ids[2]!)));
    expect(bad).toMatchObject({ seq: 1, attempts: 1 });
    expect(bad!.lastError).toBeTruthy();
    expect(bad!.dueAt.getTime()).toBeGreaterThan(Date.now());
    expect((await database.db.select({ level: cases.level }).from(cases).where(eq(cases.id, ids[2]!)))[0]!.level).toBe('grid');
  });
});
