import { and, count, eq, gte } from 'drizzle-orm';
import { auditLog } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';

/** 操作留痕: one audit row. Ids only — never names, phones or message text. */
export async function recordAudit(
  tx: Tx,
  entry: { actorId: string | null; action: string; subjectType: string; subjectId: string; details?: Record<string, unknown> },
): Promise<void> {
  await tx.insert(auditLog).values({ ...entry, details: entry.details ?? {} });
}

/**
 * How many `action` rows were written in the hour before `now`, by an actor or about a subject:
 * the count behind "too many wrong codes, try again in an hour" (staff, link and follow codes).
 */
export async function auditCountLastHour(
  db: Queryable,
  q: { action: string; now: Date } & ({ actorId: string } | { subjectType: string; subjectId: string }),
): Promise<number> {
  const who = 'actorId' in q ? eq(auditLog.actorId, q.actorId) : and(eq(auditLog.subjectType, q.subjectType), eq(auditLog.subjectId, q.subjectId));
  const [row] = await db
    .select({ n: count() })
    .from(auditLog)
    .where(and(who, eq(auditLog.action, q.action), gte(auditLog.at, new Date(q.now.getTime() - 3_600_000))));
  return row?.n ?? 0;
}
