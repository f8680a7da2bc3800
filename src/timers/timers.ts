import { sql } from 'drizzle-orm';
import type { Queryable, Tx } from '../../db/client.js';
import type { UnitOfWork } from '../work/unit.js';

/**
 * 定时器: one timer facility for every module. A timer is a row in `timers` (the database is the
 * source of truth), keyed by (kind, subjectId) with a sequence number:
 *
 * - `timers.set(tx, {kind, subjectId, seq, dueAt, data})` arms or re-arms it in the caller's
 *   transaction. A `seq` lower than the stored one is refused (a stale command can never move a
 *   newer deadline); the same or a higher one replaces it. Through a unit of work
 *   (`uow.timers.set(spec)`), a wake-up job is also added after commit, so it fires on time.
 * - `timers.cancel(tx, {kind, subjectId, seq?})` removes it (only versions up to `seq` if given).
 * - A handler per kind (`TimerHandler`, registered in jobs/registry.ts) fires it: due timers are
 *   claimed in batches (`for update skip locked`), each handled in a savepoint of one transaction
 *   through the unit of work, and deleted (or re-armed by the handler) in that same transaction,
 *   so a timer fires exactly once. A handler that throws leaves the batch going; its timer is
 *   retried later with backoff.
 * - Wake-ups are BullMQ delayed jobs with a deterministic id per (kind, subject, seq, due time);
 *   ONE database sweep (jobs/timers.ts) fires whatever is due and was not woken (Redis flushed or
 *   restarted), so losing Redis loses no timer, only delays it by at most the sweep interval.
 *
 * `data` holds ids and times only, never personal data.
 */
export interface TimerSpec {
  kind: string;
  subjectId: string;
  seq: number;
  dueAt: Date;
  data?: Record<string, unknown>;
}

export interface TimerRef {
  kind: string;
  subjectId: string;
  /** Only cancel versions up to this one (a newer timer stays). */
  seq?: number;
}

export interface DueTimer {
  kind: string;
  subjectId: string;
  seq: number;
  dueAt: Date;
  data: Record<string, unknown>;
  attempts: number;
}

/** What a handler did: done (the timer is deleted), or fire again later (same seq). */
export type TimerOutcome = void | 'done' | { again: Date; data?: Record<string, unknown> };

export interface TimerHandler {
  kind: string;
  /** Runs inside the batch's transaction (its own savepoint): change state, queue messages, set timers. */
  fire(uow: UnitOfWork, timer: DueTimer): Promise<TimerOutcome>;
  /**
   * Optional: fires several due timers of this kind at once (set-based, a burst falling due
   * together), one outcome per timer in order. Same transaction; if it throws, the batch rolls
   * back and its timers are fired one by one with `fire`.
   */
  fireMany?(uow: UnitOfWork, timers: readonly DueTimer[]): Promise<TimerOutcome[]>;
}

/** Arms a timer (seq-guarded). Returns the spec when written, undefined when a newer one exists. */
export async function setTimer(q: Queryable, spec: TimerSpec): Promise<TimerSpec | undefined> {
  const rows = await q.execute(sql`
    insert into timers (kind, subject_id, seq, due_at, data)
    values (${spec.kind}, ${spec.subjectId}, ${spec.seq}, ${spec.dueAt.toISOString()}, ${JSON.stringify(spec.data ?? {})}::jsonb)
    on conflict (kind, subject_id) do update
      set seq = excluded.seq, due_at = excluded.due_at, data = excluded.data, attempts = 0, last_error = null
      where timers.seq <= excluded.seq
    returning seq`);
  return (rows as unknown as unknown[]).length ? spec : undefined;
}

/** Many timers in one statement (a routing batch arms hundreds of deadlines). */
export async function setTimers(q: Queryable, specs: readonly TimerSpec[]): Promise<TimerSpec[]> {
  if (specs.length === 0) return [];
  if (specs.length === 1) return (await setTimer(q, specs[0]!)) ? [specs[0]!] : [];
  // Last one wins within the list, like calling setTimer in order.
  const byKey = new Map<string, TimerSpec>();
  for (const s of specs) {
    const k = `${s.kind}\u0000${s.subjectId}`;
    const prev = byKey.get(k);
    if (!prev || prev.seq <= s.seq) byKey.set(k, s);
  }
  const list = [...byKey.values()];
  const rows = list.map((s) => ({ kind: s.kind, subject_id: s.subjectId, seq: s.seq, due_at: s.dueAt.toISOString(), data: s.data ?? {} }));
  const stored = (await q.execute(sql`
    insert into timers (kind, subject_id, seq, due_at, data)
    select kind, subject_id, seq, due_at, data
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x (kind text, subject_id text, seq integer, due_at timestamptz, data jsonb)
    on conflict (kind, subject_id) do update
      set seq = excluded.seq, due_at = excluded.due_at, data = excluded.data, attempts = 0, last_error = null
      where timers.seq <= excluded.seq
    returning kind, subject_id`)) as unknown as { kind: string; subject_id: string }[];
  const written = new Set(stored.map((r) => `${r.kind}\u0000${r.subject_id}`));
  return list.filter((s) => written.has(`${s.kind}\u0000${s.subjectId}`));
}

export async function cancelTimer(q: Queryable, ref: TimerRef): Promise<boolean> {
  const rows = await q.execute(sql`
    delete from timers where kind = ${ref.kind} and subject_id = ${ref.subjectId}
      ${ref.seq === undefined ? sql`` : sql`and seq <= ${ref.seq}`}
    returning seq`);
  return (rows as unknown as unknown[]).length > 0;
}

/** The timer API for callers with their own transaction (prefer `uow.timers`, which also wakes it on time). */
export const timers = { set: setTimer, setMany: setTimers, cancel: cancelTimer };

/** Due timers, oldest first, locked for this transaction; those another batch holds are skipped. */
export async function claimDueTimers(tx: Tx, opts: { kind?: string; limit: number; now: Date }): Promise<DueTimer[]> {
  const rows = (await tx.execute(
    opts.kind
      ? sql`select kind, subject_id, seq, due_at, data, attempts from timers
            where kind = ${opts.kind} and due_at <= ${opts.now.toISOString()}
            order by due_at limit ${opts.limit} for update skip locked`
      : sql`select kind, subject_id, seq, due_at, data, attempts from timers
            where due_at <= ${opts.now.toISOString()}
            order by due_at limit ${opts.limit} for update skip locked`,
  )) as unknown as { kind: string; subject_id: string; seq: number; due_at: string | Date; data: Record<string, unknown>; attempts: number }[];
  return rows.map((r) => ({ kind: r.kind, subjectId: r.subject_id, seq: r.seq, dueAt: new Date(r.due_at), data: r.data ?? {}, attempts: r.attempts }));
}

/** Fired: gone. Only this version is deleted: a handler that armed a newer one keeps it. */
export async function finishTimers(tx: Tx, done: readonly DueTimer[]): Promise<void> {
  if (done.length === 0) return;
  const keys = done.map((t) => ({ kind: t.kind, subject_id: t.subjectId, seq: t.seq }));
  await tx.execute(sql`
    delete from timers t using jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as x (kind text, subject_id text, seq integer)
    where t.kind = x.kind and t.subject_id = x.subject_id and t.seq = x.seq`);
}

/** A failed fire: retried after a backoff (1 s, 2 s, 4 s … at most 10 min). */
export async function retryTimer(tx: Tx, t: DueTimer, error: string, now: Date): Promise<Date> {
  const at = new Date(now.getTime() + Math.min(600_000, 1000 * 2 ** Math.min(t.attempts, 20)));
  await tx.execute(sql`
    update timers set attempts = attempts + 1, last_error = ${error.slice(0, 500)}, due_at = ${at.toISOString()}
    where kind = ${t.kind} and subject_id = ${t.subjectId} and seq = ${t.seq}`);
  return at;
}

/** The same versions fire again later (a case deadline wakes for its reminders first): one statement. */
export async function rearmTimers(tx: Tx, list: readonly { timer: DueTimer; at: Date; data: Record<string, unknown> }[]): Promise<void> {
  if (list.length === 0) return;
  const rows = list.map(({ timer: t, at, data }) => ({ kind: t.kind, subject_id: t.subjectId, seq: t.seq, due_at: at.toISOString(), data }));
  await tx.execute(sql`
    update timers t set due_at = x.due_at, data = x.data
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x (kind text, subject_id text, seq integer, due_at timestamptz, data jsonb)
    where t.kind = x.kind and t.subject_id = x.subject_id and t.seq = x.seq`);
}
