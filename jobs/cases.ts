import { and, asc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import { DelayedError } from 'bullmq';
import { cases } from '../db/schema/index.js';
import type { Database } from '../db/client.js';
import { deadlinePassed, remindHolder, routeCase, type CaseSettings, type CaseTimer } from '../src/cases/commands.js';
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

/** Case timers as BullMQ delayed jobs with deterministic ids: scheduling twice is a no-op. */
export function createCaseScheduler(backend: QueueBackend): CaseScheduler & { close(): Promise<void> } {
  const queues = queueRegistry(backend, defaultJobOptions);
  const queue = (name: string) => queues.get(name);
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
            data: { caseId: t.caseId, seq: t.seq },
            opts: { jobId: jobIds.caseDeadline(t.caseId, t.seq), delay: Math.max(0, t.at.getTime() - now) },
          });
        }
        if (t.kind === 'remind') {
          add(QUEUES.caseRemind, {
            name: 'remind',
            data: { caseId: t.caseId, seq: t.seq, n: t.n },
            opts: { jobId: jobIds.caseRemind(t.caseId, t.seq, t.n), delay: Math.max(0, t.at.getTime() - now) },
          });
        }
      }
      for (const [name, jobs] of byQueue) await queue(name).addBulk(jobs as any);
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
  for (const { id } of unrouted) if ((await run((tx, fx) => routeCase(tx, fx, id, deps.settings, new Date()))) === 'routed') routed++;
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

export function caseProcessors(deps: CaseJobDeps): ProcessorRegistration[] {
  const run = <T>(work: Parameters<typeof runCaseTx<T>>[1]) => runCaseTx(deps, work);
  return [
    {
      queue: QUEUES.caseRoute,
      concurrency: 4,
      process: async (job) => {
        const { caseId } = parseJob(jobSchemas.caseRoute, job);
        return run((tx, fx) => routeCase(tx, fx, caseId, deps.settings, new Date()));
      },
    },
    {
      queue: QUEUES.caseDeadline,
      concurrency: 4,
      process: async (job, token) => {
        const { caseId, seq } = parseJob(jobSchemas.caseDeadline, job);
        const result = await run((tx, fx) => deadlinePassed(tx, fx, caseId, seq, deps.settings, new Date()));
        if (typeof result === 'object') {
          await job.moveToDelayed(result.early.getTime(), token);
          throw new DelayedError();
        }
        return result;
      },
    },
    {
      queue: QUEUES.caseRemind,
      concurrency: 2,
      process: async (job) => {
        const { caseId, seq, n } = parseJob(jobSchemas.caseRemind, job);
        return run((tx, fx) => remindHolder(tx, fx, caseId, seq, n, new Date()));
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
