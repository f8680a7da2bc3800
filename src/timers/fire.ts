import { sql } from 'drizzle-orm';
import type { Logger } from '../log.js';
import type { UnitOfWork, Work } from '../work/unit.js';
import { claimDueTimers, finishTimers, rearmTimers, retryTimer, type DueTimer, type TimerHandler, type TimerOutcome } from './timers.js';

/** Most timers one batch claims and fires in one transaction. */
export const TIMER_BATCH = 200;

type Deps = { work: Work; handlers: ReadonlyMap<string, TimerHandler>; logger: Logger };

/**
 * Fires due timers in one batch: claims up to `limit` (of one kind, or of every kind for the
 * sweep), runs each one's handler in one transaction, deletes the fired ones and re-arms those
 * the handler asked to fire again, then commits; messages and new timers go out after commit.
 * 1,000 deadlines falling due at once are five batches, not 1,000 transactions. A handler with
 * `fireMany` gets all the batch's timers of its kind in one call (case deadlines escalate
 * set-based: 16 statements per batch, not 15 per timer); the others one at a time.
 *
 * No savepoint per timer: more than 64 subtransactions in one transaction make PostgreSQL look
 * up pg_subtrans on every row it reads, which made a batch of 200 escalations take a minute.
 * Instead, when any handler throws, the batch rolls back and its timers are fired one per
 * transaction, so one bad timer is retried with backoff and the others still fire.
 */
export async function fireDueTimers(deps: Deps, opts: { kind?: string; limit?: number; now?: Date } = {}): Promise<{ claimed: number; fired: number; failed: number }> {
  let claimed: DueTimer[] = [];
  try {
    return await deps.work.run(async (uow) => {
      const now = opts.now ?? new Date();
      claimed = await claimDueTimers(uow.tx, { kind: opts.kind, limit: opts.limit ?? TIMER_BATCH, now });
      const done: DueTimer[] = [];
      const again: Rearm[] = [];
      for (const [kind, group] of byKind(claimed)) {
        const handler = handlerOf(deps, kind);
        const outcomes: TimerOutcome[] = [];
        if (handler.fireMany && group.length > 1) outcomes.push(...(await handler.fireMany(uow, group)));
        else for (const t of group) outcomes.push(await handler.fire(uow, t));
        if (outcomes.length !== group.length) throw new Error(`timer handler ${kind} gave ${outcomes.length} outcomes for ${group.length} timers`);
        group.forEach((t, i) => (isAgain(outcomes[i]) ? again.push(rearm(uow, t, outcomes[i])) : done.push(t)));
      }
      await rearmTimers(uow.tx, again);
      await finishTimers(uow.tx, done);
      return { claimed: claimed.length, fired: done.length, failed: 0 };
    });
  } catch (err) {
    if (claimed.length === 0) throw err;
    deps.logger.warn({ timers: claimed.length, err: (err as Error).message }, 'a timer batch failed; firing its timers one by one');
    let fired = 0;
    let failed = 0;
    for (const t of claimed) {
      const r = await fireAlone(deps, t, opts.now ?? new Date());
      if (r === 'fired') fired++;
      if (r === 'failed') failed++;
    }
    return { claimed: claimed.length, fired, failed };
  }
}

type Rearm = { timer: DueTimer; at: Date; data: Record<string, unknown> };

const isAgain = (o: TimerOutcome): o is { again: Date; data?: Record<string, unknown> } => !!o && typeof o === 'object';

/** A timer that fires again later: its row is re-armed (by the caller) and woken after commit. */
function rearm(uow: UnitOfWork, t: DueTimer, outcome: { again: Date; data?: Record<string, unknown> }): Rearm {
  const data = outcome.data ?? t.data;
  uow.timers.wake({ ...t, dueAt: outcome.again, data });
  return { timer: t, at: outcome.again, data };
}

function handlerOf(deps: Deps, kind: string): TimerHandler {
  const handler = deps.handlers.get(kind);
  if (!handler) throw new Error(`no handler for timer kind ${kind}`);
  return handler;
}

/** The batch's timers by kind, each group in claim order. */
function byKind(list: readonly DueTimer[]): Map<string, DueTimer[]> {
  const groups = new Map<string, DueTimer[]>();
  for (const t of list) {
    const group = groups.get(t.kind);
    if (group) group.push(t);
    else groups.set(t.kind, [t]);
  }
  return groups;
}

/** Runs a timer's handler; true when it is done (delete it), false when it re-armed itself. */
async function fireOne(deps: Deps, uow: UnitOfWork, t: DueTimer): Promise<boolean> {
  const outcome = await handlerOf(deps, t.kind).fire(uow, t);
  if (!isAgain(outcome)) return true;
  await rearmTimers(uow.tx, [rearm(uow, t, outcome)]);
  return false;
}

/** One timer in its own transaction (after its batch failed); a failure is retried with backoff. */
async function fireAlone(deps: Deps, t: DueTimer, now: Date): Promise<'fired' | 'rearmed' | 'failed' | 'gone'> {
  try {
    return await deps.work.run(async (uow) => {
      // Still this version and still due (another worker may have taken it meanwhile).
      const rows = (await uow.tx.execute(sql`
        select 1 from timers where kind = ${t.kind} and subject_id = ${t.subjectId} and seq = ${t.seq} and due_at <= ${now.toISOString()}
        for update skip locked`)) as unknown as unknown[];
      if (rows.length === 0) return 'gone';
      if (!(await fireOne(deps, uow, t))) return 'rearmed';
      await finishTimers(uow.tx, [t]);
      return 'fired';
    });
  } catch (err) {
    const at = await deps.work.run(async (uow) => {
      const when = await retryTimer(uow.tx, t, (err as Error).message, now);
      uow.timers.wake({ ...t, dueAt: when });
      return when;
    });
    deps.logger.warn({ kind: t.kind, subjectId: t.subjectId, seq: t.seq, attempts: t.attempts + 1, retryAt: at, err: (err as Error).message }, 'timer failed; retried later');
    return 'failed';
  }
}
