import { and, asc, eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import { cases } from '../db/schema/index.js';
import type { CaseSettings } from '../src/cases/effects.js';
import { deadlinesPassed, remindHolder } from '../src/cases/escalation.js';
import { routeCase, routeCases } from '../src/cases/routing.js';
import { CASE_DEADLINE_TIMER, CASE_ROUTE_JOB, caseDeadlineData, caseEffects, runCaseTx } from '../src/cases/run.js';
import type { Logger } from '../src/log.js';
import type { DueTimer, TimerHandler, TimerOutcome } from '../src/timers/timers.js';
import type { UnitOfWork, Work } from '../src/work/unit.js';
import { defineJob, type JobServices } from './define.js';

/** Cases younger than this are still on their normal path (commit → route job). */
export const ROUTE_GRACE_MS = 10_000;
const SWEEP_BATCH = 500;
/**
 * A route job routes its own case together with other cases still waiting, up to this many in
 * one transaction; their own jobs then find them routed with one read. Under a burst this turns
 * a dozen statements per case into about a dozen per batch (bench/routing.ts).
 */
export const ROUTE_BATCH = 200;

export interface CaseJobDeps {
  database: JobServices['database'];
  work: Work;
  settings: CaseSettings;
  logger: Logger;
}

/**
 * The periodic safety net behind route jobs: routes cases that no route job handled (Redis
 * flushed or restarted without persistence). Idempotent, so racing the jobs is harmless.
 * Deadlines are timers now (src/timers): the timer sweep is their safety net.
 */
export async function sweepCases(deps: CaseJobDeps, now = new Date()): Promise<{ routed: number }> {
  let routed = 0;
  const unrouted = await deps.database.db
    .select({ id: cases.id })
    .from(cases)
    .where(and(eq(cases.status, 'submitted'), lt(cases.createdAt, new Date(now.getTime() - ROUTE_GRACE_MS))))
    .orderBy(asc(cases.createdAt))
    .limit(SWEEP_BATCH);
  for (let i = 0; i < unrouted.length; i += ROUTE_BATCH) {
    const ids = unrouted.slice(i, i + ROUTE_BATCH).map((c) => c.id);
    const result = await runCaseTx(deps, (tx, fx) => routeCases(tx, fx, { ids }, deps.settings, new Date()));
    routed += result.routed.length;
    for (const { caseId, error } of result.failed) deps.logger.error({ caseId, err: error.message }, 'case cannot be routed');
  }
  if (routed) deps.logger.warn({ routed }, 'case sweep routed cases no job routed');
  return { routed };
}

/**
 * Ids this process saw routed, newest kept. A routed case never waits for routing again, so the
 * memory cannot go stale: the jobs of the cases a batch took are answered without a query.
 */
class RoutedIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 100_000) {}
  add(ids: readonly string[]) {
    for (const id of ids) {
      this.ids.add(id);
      // Sets iterate in insertion order: the first is the oldest.
      if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
    }
  }
  has(id: string) {
    return this.ids.has(id);
  }
}

const caseDeps = (s: Omit<JobServices, 'timerHandlers'>): CaseJobDeps => ({ database: s.database, work: s.work, settings: s.caseSettings, logger: s.logger });

export const caseRouteJob = defineJob({
  ...CASE_ROUTE_JOB,
  id: (p) => `route-${p.caseId}`,
  concurrency: 4,
  handler: (s) => {
    const deps = caseDeps(s);
    const routedHere = new RoutedIds();
    const run = <T>(work: Parameters<typeof runCaseTx<T>>[1]) => runCaseTx(deps, work);
    return async ({ caseId }) => {
      // Most jobs of a burst find their case routed by an earlier job's batch: known here, or
      // one read (another process routed it), no transaction.
      if (routedHere.has(caseId)) return 'skipped';
      const [current] = await deps.database.db.select({ status: cases.status }).from(cases).where(eq(cases.id, caseId));
      if (current?.status !== 'submitted') return 'skipped';
      const { routed, failed } = await run((tx, fx) => routeCases(tx, fx, { first: caseId, limit: ROUTE_BATCH }, deps.settings, new Date()));
      routedHere.add(routed);
      // The jobs of the other cases in the batch would only find them routed: take them off the queue.
      await s.removeJobs?.(caseRouteJob, routed.filter((id) => id !== caseId).map((id) => ({ caseId: id })));
      if (routed.includes(caseId)) return 'routed';
      // Its own case could not be routed: the job fails and retries (the others in the batch went on).
      const own = failed.find((f) => f.caseId === caseId);
      if (own) throw own.error;
      // Another transaction held the case (most often another job's batch): wait for it, then
      // route the case if it is still waiting.
      return run((tx, fx) => routeCase(tx, fx, caseId, deps.settings, new Date()));
    };
  },
});

export const caseSweepJob = defineJob({
  name: 'case-sweep',
  payload: z.object({}).passthrough(),
  every: (s) => s.sweeps.cases,
  handler: (s) => async () => sweepCases(caseDeps(s)),
});

/**
 * A case deadline (timer kind `case-deadline`): before the deadline it reminds whoever holds the
 * case (the latest reminder due; after a late wake, one, not two) and sleeps to its next wake;
 * at the deadline it escalates one level, or closes an unrated resolved case as 默认满意. A batch
 * of deadlines that passed (a burst falling due together) escalates set-based, in one go.
 */
export const caseDeadlineTimer = (s: Omit<JobServices, 'timerHandlers'>): TimerHandler => {
  const fireMany = async (uow: UnitOfWork, batch: readonly DueTimer[]): Promise<TimerOutcome[]> => {
    const fx = caseEffects(uow);
    const now = Date.now();
    const outcomes: TimerOutcome[] = [];
    const passed: { at: number; caseId: string; seq: number }[] = [];
    for (const [at, timer] of batch.entries()) {
      const { dueAt, remindAt = [] } = caseDeadlineData.parse(timer.data);
      if (dueAt !== undefined && now < dueAt) {
        const n = remindAt.filter((t) => t <= now).length;
        if (n > 0 && (await remindHolder(uow.tx, fx, timer.subjectId, timer.seq, n, new Date())) === 'stale') outcomes[at] = 'done';
        else outcomes[at] = { again: new Date(remindAt.find((t) => t > now) ?? dueAt) };
      } else passed.push({ at, caseId: timer.subjectId, seq: timer.seq });
    }
    const results = await deadlinesPassed(uow.tx, fx, passed, s.caseSettings, new Date());
    results.forEach((r, i) => (outcomes[passed[i]!.at] = typeof r === 'object' ? { again: r.early } : 'done'));
    return outcomes;
  };
  return { kind: CASE_DEADLINE_TIMER, fire: async (uow, timer) => (await fireMany(uow, [timer]))[0], fireMany };
};
