import { and, asc, eq, inArray, isNull, lte, ne, or, sql } from 'drizzle-orm';
import { outbox } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import type { Channel } from '../dialog/events.js';

export type OutboxRow = typeof outbox.$inferSelect;

/** Try-locks taken per statement: at most this many minus one are taken and then not used. */
const LOCK_CHUNK = 8;

/**
 * No earlier row of the same chat is pending, due or not: only such a row may be sent by a batch
 * other than its chat's own, or it would overtake the earlier one, or write to a chat the
 * platform told to wait (a 429 holds its row back until retry_after, jobs/deliver-chat.ts).
 */
const headOfChat = sql`not exists (
  select 1 from outbox e
  where e.identity_id = ${outbox.identityId} and e.status = 'pending' and e.id < ${outbox.id})`;

/**
 * 群发搭车: pending broadcast rows of other chats (the same channel and class, due, each the next
 * row of its chat) that a broadcast delivery takes along, so one job sends many chats at once
 * instead of one job, transaction and lock per message. Each chat is claimed with its deliver
 * lock, taken with pg_try_advisory_xact_lock inside the caller's transaction: a chat another
 * delivery holds is skipped, never waited for, so claiming cannot deadlock with that delivery,
 * and the lock is the same one a chat's own job takes, so no row goes out twice. No row locks
 * are held (the rows are marked sent on other connections while the transaction is open).
 * Returns the claimed rows, read again once locked (a row sent meanwhile is left out), and, when
 * as many were claimed as wanted, the first candidate seen and not claimed (`next`): more are
 * waiting, and a delivery for it carries on where this one stopped (jobs/deliver.ts).
 */
export async function claimCompanions(
  tx: Queryable,
  own: { id: number; identityId: string; channel: Channel; priority: number },
  want: number,
): Promise<{ rows: OutboxRow[]; next?: number }> {
  if (want <= 0) return { rows: [] };
  const due = or(isNull(outbox.notBefore), lte(outbox.notBefore, new Date()));
  const candidates = await tx
    .select({ id: outbox.id, identityId: outbox.identityId })
    .from(outbox)
    .where(
      and(
        eq(outbox.status, 'pending'),
        eq(outbox.channel, own.channel),
        eq(outbox.priority, own.priority),
        ne(outbox.identityId, own.identityId),
        due,
        headOfChat,
      ),
    )
    .orderBy(asc(outbox.id))
    // Deliveries running side by side see the same candidates: enough for each to find its own.
    .limit(want * 4);
  const seen = new Set<string>();
  const unique = candidates.filter((c) => !seen.has(c.identityId) && seen.add(c.identityId));
  const locked: number[] = [];
  for (let i = 0; i < unique.length && locked.length < want; i += LOCK_CHUNK) {
    const chunk = unique.slice(i, i + LOCK_CHUNK);
    const got = await tx.execute<{ id: string | number; got: boolean }>(sql`
      select c.id, pg_try_advisory_xact_lock(hashtext('deliver:' || c.identity_id)) as got
      from (values ${sql.join(
        chunk.map((c) => sql`(${c.id}::bigint, ${c.identityId}::text)`),
        sql`, `,
      )}) as c(id, identity_id)`);
    for (const g of got) if (g.got && locked.length < want) locked.push(Number(g.id));
  }
  if (locked.length === 0) return { rows: [] };
  const claimed = new Set(locked);
  const next = locked.length === want ? unique.map((c) => Number(c.id)).find((id) => !claimed.has(id) && id > locked.at(-1)!) : undefined;
  // Locked now: whatever was sent, or got an earlier row, before the lock was ours is left out.
  const rows = await tx
    .select()
    .from(outbox)
    .where(and(inArray(outbox.id, locked), eq(outbox.status, 'pending'), due, headOfChat))
    .orderBy(asc(outbox.id));
  return { rows, next };
}
