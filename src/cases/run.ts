import type { Database, Tx } from '../../db/client.js';
import type { FlowContext } from '../dialog/flow.js';
import type { Logger } from '../log.js';
import { notifyPeople, notifyPerson } from '../outbox/notify.js';
import type { DeliveryQueue, QueuedMessage } from '../outbox/outbox.js';
import type { CaseTimer, Effects } from './effects.js';
import { submitCase, type NewCase } from './intake.js';

/**
 * Hands case timers to the job system after commit (implemented in jobs/cases.ts; the core
 * never imports BullMQ). Losing one loses nothing: the case sweep finds due work in the database.
 */
export interface CaseScheduler {
  schedule(timers: CaseTimer[]): Promise<void>;
  /** Route jobs of cases a batch already routed are no longer needed (best effort). */
  dropRouteJobs?(caseIds: readonly string[]): Promise<void>;
}

/** Runs case commands in one transaction outside a conversation (jobs, sweeps, the desk). */
export async function runCaseTx<T>(
  deps: { database: Database; delivery: DeliveryQueue; scheduler: CaseScheduler; logger: Logger },
  work: (tx: Tx, fx: Effects) => Promise<T>,
): Promise<T> {
  let queued: QueuedMessage[] = [];
  let timers: CaseTimer[] = [];
  const result = await deps.database.db.transaction(async (tx) => {
    queued = [];
    timers = [];
    const fx: Effects = {
      notify: async (personId, build) => void queued.push(...(await notifyPerson(tx, personId, build))),
      notifyAll: async (notices) => void queued.push(...(await notifyPeople(tx, notices))),
      schedule: (timer) => void timers.push(timer),
    };
    return work(tx, fx);
  });
  await afterCommit(deps, queued, timers);
  return result;
}

/**
 * 受理 outside a conversation (benchmarks, imports): submitCase is one statement, so it runs on
 * its own without a transaction around it; the route job follows once it is stored.
 */
export async function intakeCase(
  deps: { database: Database; scheduler: CaseScheduler; logger: Logger },
  input: NewCase,
  now: Date,
): Promise<{ caseId: string; number: string; created: boolean }> {
  const timers: CaseTimer[] = [];
  const result = await submitCase(deps.database.db, { schedule: (t) => void timers.push(t) }, input, now);
  await scheduleAfterCommit(deps, timers);
  return result;
}

async function afterCommit(
  deps: { delivery: DeliveryQueue; scheduler: CaseScheduler; logger: Logger },
  queued: QueuedMessage[],
  timers: CaseTimer[],
) {
  if (queued.length) await deps.delivery.enqueue(queued).catch((err) => deps.logger.warn({ err: (err as Error).message }, 'enqueue failed; the outbox sweep will retry'));
  await scheduleAfterCommit(deps, timers);
}

async function scheduleAfterCommit(deps: { scheduler: CaseScheduler; logger: Logger }, timers: CaseTimer[]) {
  if (timers.length) await deps.scheduler.schedule(timers).catch((err) => deps.logger.warn({ err: (err as Error).message }, 'scheduling failed; the case sweep will catch up'));
}

/** The same Effects inside a conversation: messages through ctx.notify, timers after its commit. */
export function flowEffects(ctx: FlowContext, scheduler: CaseScheduler): Effects {
  const timers: CaseTimer[] = [];
  return {
    notify: (personId, build) => ctx.notify(personId, build),
    notifyAll: async (notices) => {
      for (const n of notices) await ctx.notify(n.personId, n.build);
    },
    schedule: (timer) => {
      if (timers.length === 0) ctx.afterCommit(() => scheduler.schedule(timers));
      timers.push(timer);
    },
  };
}
