import { z } from 'zod';
import type { Database, Tx } from '../../db/client.js';
import type { FlowContext } from '../dialog/flow.js';
import type { TimerSpec } from '../timers/timers.js';
import type { AfterCommitSink, JobRef, UnitOfWork, Work } from '../work/unit.js';
import type { CaseTimer, Effects } from './effects.js';
import { submitCase, type NewCase } from './intake.js';

/**
 * Cases on the unit of work (src/work/unit.ts). Case commands keep their `Effects` sink
 * (notify / notifyAll / schedule); here it is an adapter over the unit of work, so messages are
 * outbox rows of the same transaction, a deadline is a timer row (kind `case-deadline`) written
 * before commit, and a route request is a `case-route` job started after commit.
 */

/** The case-route job as the core names it; jobs/cases.ts gives it its handler. */
export const CASE_ROUTE_JOB = {
  name: 'case-route',
  payload: z.object({ caseId: z.uuid() }).strict(),
} satisfies JobRef<{ caseId: string }>;

/**
 * A case deadline timer. One per case (subject = case id), `seq` = the case's deadline sequence.
 * It wakes at each reminder time (`remindAt`, epoch ms), then at the deadline (`dueAt`).
 */
export const CASE_DEADLINE_TIMER = 'case-deadline';

export const caseDeadlineData = z.object({
  dueAt: z.number().int().positive().optional(),
  remindAt: z.array(z.number().int().positive()).max(10).optional(),
});

export function caseDeadlineSpec(t: Extract<CaseTimer, { kind: 'escalate' }>): TimerSpec {
  const remindAt = (t.remindAt ?? []).map((at) => at.getTime());
  return {
    kind: CASE_DEADLINE_TIMER,
    subjectId: t.caseId,
    seq: t.seq,
    // The first wake: the first reminder, or the deadline itself.
    dueAt: new Date(remindAt[0] ?? t.at.getTime()),
    data: { dueAt: t.at.getTime(), ...(remindAt.length && { remindAt }) },
  };
}

/** The case commands' Effects over a unit of work. */
export function caseEffects(uow: UnitOfWork): Effects {
  return {
    notify: (personId, build) => uow.notify(personId, build),
    notifyAll: (notices) => uow.notifyAll(notices),
    schedule: (timer) => {
      if (timer.kind === 'route') uow.enqueue(CASE_ROUTE_JOB, { caseId: timer.caseId });
      else uow.timers.setLater(caseDeadlineSpec(timer));
    },
  };
}

/** Kept so case flows need no change: timers no longer go through a scheduler. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CaseScheduler {}

/** Runs case commands in one unit of work outside a conversation (jobs, sweeps, the desk, tests). */
export function runCaseTx<T>(deps: { work: Work }, work: (tx: Tx, fx: Effects) => Promise<T>): Promise<T> {
  return deps.work.run((uow) => work(uow.tx, caseEffects(uow)));
}

/**
 * 受理 outside a conversation (benchmarks, imports): submitCase is one statement, so it runs on
 * its own without a transaction around it; the route job follows once it is stored.
 */
export async function intakeCase(
  deps: { database: Database; work: { sink: AfterCommitSink }; logger: { warn(o: object, m: string): void } },
  input: NewCase,
  now: Date,
): Promise<{ caseId: string; number: string; created: boolean }> {
  const routes: string[] = [];
  const result = await submitCase(deps.database.db, { schedule: (t) => void (t.kind === 'route' && routes.push(t.caseId)) }, input, now);
  if (routes.length) {
    await deps.work.sink
      .enqueue(routes.map((caseId) => ({ job: CASE_ROUTE_JOB as JobRef<unknown>, payload: { caseId } })))
      .catch((err) => deps.logger.warn({ err: (err as Error).message }, 'enqueue failed; the case sweep will route it'));
  }
  return result;
}

/** The same Effects inside a conversation: the engine's unit of work for this message. */
export function flowEffects(ctx: FlowContext, _scheduler?: CaseScheduler): Effects {
  return caseEffects(ctx.uow);
}
