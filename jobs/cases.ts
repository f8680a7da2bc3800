import { and, asc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import { DelayedError } from 'bullmq';
import { cases } from '../db/schema/index.js';
import type { Database } from '../db/client.js';
import type { CaseSettings, CaseTimer } from '../src/cases/effects.js';
import { deadlinePassed, remindHolder } from '../src/cases/escalation.js';
import { routeCase, routeCases } from '../src/cases/routing.js';
import { OPEN_STATUSES } from '../src/cases/rules.js';
import { runCaseTx, type CaseScheduler } from '../src/cases/run.js';
import type { Logger } from '../src/log.js';
import type { DeliveryQueue } from '../src/outbox/outbox.js';
import { queueRegistry, type QueueBackend } from './backend.js';
import { defaultJobOptions, jobIds, jobSchemas, parseJob, QUEUES } from './queues.js';
import type { ProcessorRegistration } from './workers.js';

/** Cases younger than this are still on their normal path (commit → route job). */
export const ROUTE_GRACE_MS = 10_000;
const SWEEP_BATCH = 500;
/**
 * A route job routes its own case together with other cases still waiting, up to this many in
 * one transaction; their own jobs then find them routed with one read. Under a burst this turns
 * a dozen statements per case into about a dozen per batch (bench/routing.ts).
 */
export const ROUTE_BATCH = 200;

/** Case timers as BullMQ delayed jobs with deterministic ids: scheduling twice is a no-op. */
export function createCaseScheduler(backend: QueueBackend): CaseScheduler & { close(): Promise<void> } {
  const queues = queueRegistry(backend, defaultJobOptions);
  return {
    async schedule(timers: CaseTimer[]) {
      const now = Date.now();
      const byQueue = new Map<string, { name: string; data: unknown; opts: Record<string, unknown> }[]>();
      const add = (name: string, job: { name: string; data: unknown; opts: Record<string, unknown> }) => byQueue.set(name, [...(byQueue.get(name) ?? []), job]);
      for (const t of timers) {
        if (t.kind === 'route') add(QUEUES.caseRoute, { name: 'route', data: { caseId: t.caseId }, opts: { jobId: jobIds.caseRoute(t.caseId) } });
        if (t.kind === 'escalate') {
          add(QUEUES.caseDeadline, {
            name: 'deadline',
            data: { caseId: t.caseId, seq: t.seq, dueAt: t.at.getTime(), remindAt: (t.remindAt ?? []).map((at) => at.getTime()) },
            // The first wake: the first reminder, or the deadline itself.
            opts: { jobId: jobIds.caseDeadline(t.caseId, t.seq), delay: Math.max(0, (t.remindAt?.[0] ?? t.at).getTime() - now) },
          });
        }
      }
      await Promise.all([...byQueue].map(([name, jobs]) => queues.addBulk(name, jobs)));
    },
    async dropRouteJobs(caseIds: readonly string[]) {
      // A job that is running right now cannot be removed; it finds its case routed instead.
      const queue = queues.get(QUEUES.caseRoute);
      await Promise.all(caseIds.map((id) => queue.remove(jobIds.caseRoute(id)).catch(() => 0)));
    },
    close: () => queues.close(),
  };
}

export interface CaseJobDeps {
  database: Database;
  delivery: DeliveryQueue;
  scheduler: CaseScheduler;
  settings: CaseSettings;
  logger: Logger;
  sweepEveryMs: number;
}

/**
 * The periodic safety net behind every case timer: routes cases that no route job handled and
 * acts on every deadline that passed without its timer firing (Redis flushed or restarted
 * without persistence). Each call is idempotent, so racing the timers is harmless.
 */
export async function sweepCases(deps: Omit<CaseJobDeps, 'sweepEveryMs'>, now = new Date()): Promise<{ routed: number; deadlines: number }> {
  const run = <T>(work: Parameters<typeof runCaseTx<T>>[1]) => runCaseTx(deps, work);
  let routed = 0;
  let deadlines = 0;
  const unrouted = await deps.database.db
    .select({ id: cases.id })
    .from(cases)
    .where(and(eq(cases.status, 'submitted'), lt(cases.createdAt, new Date(now.getTime() - ROUTE_GRACE_MS))))
    .orderBy(asc(cases.createdAt))
    .limit(SWEEP_BATCH);
  for (let i = 0; i < unrouted.length; i += ROUTE_BATCH) {
    const ids = unrouted.slice(i, i + ROUTE_BATCH).map((c) => c.id);
    const result = await run((tx, fx) => routeCases(tx, fx, { ids }, deps.settings, new Date()));
    routed += result.routed.length;
    for (const { caseId, error } of result.failed) deps.logger.error({ caseId, err: error.message }, 'case cannot be routed');
  }
  const due = await deps.database.db
    .select({ id: cases.id, seq: cases.deadlineSeq })
    .from(cases)
    .where(
      and(
        inArray(cases.status, [...OPEN_STATUSES, 'resolved']),
        lte(cases.dueAt, now),
        sql`${cases.escalatedSeq} < ${cases.deadlineSeq}`,
      ),
    )
    .orderBy(asc(cases.dueAt))
    .limit(SWEEP_BATCH);
  for (const { id, seq } of due) {
    const result = await run((tx, fx) => deadlinePassed(tx, fx, id, seq, deps.settings, new Date()));
    if (result === 'escalated' || result === 'closed') deadlines++;
  }
  if (routed || deadlines) deps.logger.warn({ routed, deadlines }, 'case sweep caught up work no job did');
  return { routed, deadlines };
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

export function caseProcessors(deps: CaseJobDeps): ProcessorRegistration[] {
  const run = <T>(work: Parameters<typeof runCaseTx<T>>[1]) => runCaseTx(deps, work);
  const routedHere = new RoutedIds();
  return [
    {
      queue: QUEUES.caseRoute,
      concurrency: 4,
      process: async (job) => {
        const { caseId } = parseJob(jobSchemas.caseRoute, job);
        // Most jobs of a burst find their case routed by an earlier job's batch: known here, or
        // one read (another process routed it), no transaction.
        if (routedHere.has(caseId)) return 'skipped';
        const [current] = await deps.database.db.select({ status: cases.status }).from(cases).where(eq(cases.id, caseId));
        if (current?.status !== 'submitted') return 'skipped';
        const { routed, failed } = await run((tx, fx) => routeCases(tx, fx, { first: caseId, limit: ROUTE_BATCH }, deps.settings, new Date()));
        routedHere.add(routed);
        // The jobs of the other cases in the batch would only find them routed: take them off the queue.
        await deps.scheduler.dropRouteJobs?.(routed.filter((id) => id !== caseId));
        if (routed.includes(caseId)) return 'routed';
        // Its own case could not be routed: the job fails and retries (the others in the batch went on).
        const own = failed.find((f) => f.caseId === caseId);
        if (own) throw own.error;
        // Another transaction held the case (most often another job's batch): wait for it, then
        // route the case if it is still waiting.
        return run((tx, fx) => routeCase(tx, fx, caseId, deps.settings, new Date()));
      },
    },
    {
      queue: QUEUES.caseDeadline,
      concurrency: 4,
      process: async (job, token) => {
        const { caseId, seq, dueAt, remindAt = [] } = parseJob(jobSchemas.caseDeadline, job);
        // The same job sleeps again until its next wake (a reminder, then the deadline).
        const sleepUntil = async (at: number): Promise<never> => {
          await job.moveToDelayed(at, token);
          throw new DelayedError();
        };
        const now = Date.now();
        if (dueAt !== undefined && now < dueAt) {
          // Before the deadline: the latest reminder due by now (after a late wake, one, not two).
          const n = remindAt.filter((at) => at <= now).length;
          if (n > 0 && (await run((tx, fx) => remindHolder(tx, fx, caseId, seq, n, new Date()))) === 'stale') return 'stale';
          return sleepUntil(remindAt.find((at) => at > now) ?? dueAt);
        }
        const result = await run((tx, fx) => deadlinePassed(tx, fx, caseId, seq, deps.settings, new Date()));
        if (typeof result === 'object') return sleepUntil(result.early.getTime());
        return result;
      },
    },
    {
      queue: QUEUES.caseSweep,
      concurrency: 1,
      every: deps.sweepEveryMs,
      process: async () => sweepCases(deps),
    },
  ];
}
