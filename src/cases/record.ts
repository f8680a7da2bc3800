import { asc, eq, inArray, sql } from 'drizzle-orm';
import { caseEvents, caseFollowers, cases, slaPolicies } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { Say } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import { leadsAbove } from '../routing/route.js';
import type { Effects } from './effects.js';
import { allowed, reminderTimes, slaFor, type CaseAction, type CaseStatus, type Level, type Sla } from './rules.js';

/**
 * What every case command shares: the locked case row, the status check, the timeline rows, the
 * running deadline and the followers. Every command locks the case row first, re-reads it and
 * refuses what its status no longer allows, so a repeated job or a double button press changes
 * nothing.
 */

export class CaseError extends Error {
  constructor(
    readonly reason: 'not_found' | 'not_allowed' | 'not_yours',
    readonly status?: CaseStatus,
  ) {
    super(reason);
  }
}

export type CaseRow = typeof cases.$inferSelect;

export async function lockCase(tx: Tx, caseId: string): Promise<CaseRow> {
  const [row] = await tx.select().from(cases).where(eq(cases.id, caseId)).for('update');
  if (!row) throw new CaseError('not_found');
  return row;
}

export function must(action: CaseAction, c: CaseRow) {
  if (!allowed(action, c.status)) throw new CaseError('not_allowed', c.status);
}

export type EventFields = { actorId?: string | null; toStatus?: CaseStatus; level?: Level; reason?: string; details?: Record<string, unknown>; public?: boolean; at: Date };
export type EventKind = (typeof caseEvents.$inferInsert)['kind'];

export async function event(tx: Tx, c: CaseRow, kind: EventKind, e: EventFields) {
  await insertEvents(tx, [eventRow(c, kind, e)]);
}

/** A timeline row: who, when, what, why; from and to which status and level. */
export interface EventRow {
  case_id: string;
  kind: EventKind;
  actor_id: string | null;
  from_status: CaseStatus;
  to_status: CaseStatus;
  level: Level;
  reason: string | null;
  details: Record<string, unknown>;
  public: boolean;
  at: string;
}

export function eventRow(c: Pick<CaseRow, 'id' | 'status' | 'level'>, kind: EventKind, e: EventFields): EventRow {
  return {
    case_id: c.id,
    kind,
    actor_id: e.actorId ?? null,
    from_status: c.status,
    to_status: e.toStatus ?? c.status,
    level: e.level ?? c.level,
    reason: e.reason ?? null,
    details: e.details ?? {},
    public: e.public ?? true,
    at: e.at.toISOString(),
  };
}

/** Timeline rows in one statement, passed as one JSON parameter (see routeCases). */
export async function insertEvents(tx: Tx, rows: readonly EventRow[]) {
  if (rows.length === 0) return;
  await tx.execute(sql`
    insert into case_events (case_id, kind, actor_id, from_status, to_status, level, reason, details, public, at)
    select case_id, kind, actor_id, from_status, to_status, level, reason, coalesce(details, '{}'), public, at
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
         as x (case_id uuid, kind case_event_kind, actor_id uuid, from_status case_status, to_status case_status, level escalation_level,
               reason text, details jsonb, public boolean, at timestamptz)`);
}

export async function slaOf(tx: Tx, c: Pick<CaseRow, 'categoryId' | 'priority'>): Promise<Sla> {
  const policies = await tx.select().from(slaPolicies).where(inArray(slaPolicies.priority, [c.priority]));
  return slaFor(policies, c.categoryId, c.priority);
}

/** Sets a new running deadline (next sequence number) and hands its timers over. */
export function startDeadline(fx: Effects, c: Pick<CaseRow, 'id' | 'deadlineSeq'>, due: Date, now: Date, opts: { remind: boolean }) {
  const seq = c.deadlineSeq + 1;
  fx.schedule({ kind: 'escalate', caseId: c.id, seq, at: due, remindAt: opts.remind ? reminderTimes(now, due, now) : [] });
  return { dueAt: due, deadlineSeq: seq };
}

/** Everyone who hears about a case: its reporter and those who said "same problem". */
export async function followersOf(tx: Tx, caseId: string): Promise<string[]> {
  const rows = await tx.select({ personId: caseFollowers.personId }).from(caseFollowers).where(eq(caseFollowers.caseId, caseId)).orderBy(asc(caseFollowers.since));
  return rows.map((r) => r.personId);
}

export async function tellFollowers(tx: Tx, fx: Pick<Effects, 'notify'>, caseId: string, build: (t: Messages, locale: Locale) => Say) {
  for (const personId of await followersOf(tx, caseId)) await fx.notify(personId, build);
}

/** Whether `actorId` may act on the case: its assignee, or a leader of the community, street or county above it. */
export async function mayAct(tx: Tx, c: CaseRow, actorId: string): Promise<boolean> {
  return c.assigneeId === actorId || leadsAbove(tx, c.communityId, actorId);
}

export async function mustBeHolder(tx: Tx, c: CaseRow, actorId: string) {
  if (!(await mayAct(tx, c, actorId))) throw new CaseError('not_yours', c.status);
}

