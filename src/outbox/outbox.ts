import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import type { Channel } from '../dialog/events.js';
import { replySchema, type Reply } from '../dialog/reply.js';

/**
 * 发件箱 (the outbox): every message to a person is a row here, delivered by a deliver job whose
 * id is the row id.
 *
 * API (what modules use):
 * - `queueMessages(tx, items)` inside the transaction that causes the messages: they exist if and
 *   only if that change committed. Returns the rows to hand to `DeliveryQueue.enqueue` after the
 *   commit (the unit of work does that; a lost enqueue is caught by the outbox sweep).
 * - `writeOutbox(db, items)`: the same statement outside any caller's transaction, for fan-out
 *   pages (a notice to 10,000 people written a page at a time). One statement for the whole page,
 *   `ON CONFLICT (dedupe_key) DO NOTHING`: a retried page writes nothing twice and returns only
 *   the rows it really inserted.
 * - Per row: `priority` (OUTBOX_PRIORITY: 应急 emergency > conversation replies and case cards >
 *   broadcasts; a reply never waits behind a broadcast), `notBefore` (quiet hours, scheduled:
 *   delivery and the sweep leave the row alone until then) and `dedupeKey` (unique, optional).
 */
export const OUTBOX_PRIORITY = { emergency: 0, conversation: 1, broadcast: 2 } as const;
export type OutboxPriority = keyof typeof OUTBOX_PRIORITY;

export function priorityName(n: number): OutboxPriority {
  return n <= 0 ? 'emergency' : n === 1 ? 'conversation' : 'broadcast';
}

/** Where a message goes: one channel identity of a person. */
export interface Recipient {
  identityId: string;
  channel: Channel;
  chatRef: string;
}

/** One message to write; only `to` and `reply` are required. */
export interface OutboxItem {
  to: Recipient;
  reply: Reply;
  /** Default `conversation`. */
  priority?: OutboxPriority;
  /** Not before this time (null/undefined = at once). */
  notBefore?: Date | null;
  /** Unique across the outbox; a second row with the same key is not written. */
  dedupeKey?: string | null;
}

/** A row written to the outbox that must be handed to the delivery queue after commit. */
export interface QueuedMessage {
  outboxId: number;
  channel: Channel;
  /** Absent = `conversation`. */
  priority?: OutboxPriority;
  /** Absent/null = deliver at once. */
  notBefore?: Date | null;
}

/** Writes messages to the outbox inside the caller's transaction (see the module comment). */
export async function queueMessages(tx: Queryable, items: readonly OutboxItem[]): Promise<QueuedMessage[]> {
  return writeOutbox(tx, items);
}

/**
 * Many outbox rows in one statement: one JSON parameter, so one prepared statement whatever
 * their number and nothing to build per row; `ordinality` keeps their order in the ids. Rows
 * whose dedupe key exists already are skipped (and not returned).
 */
export async function writeOutbox(q: Queryable, items: readonly OutboxItem[]): Promise<QueuedMessage[]> {
  if (items.length === 0) return [];
  const rows = items.map(({ to, reply, priority, notBefore, dedupeKey }) => ({
    identity_id: to.identityId,
    channel: to.channel,
    chat_ref: to.chatRef,
    payload: replySchema.parse(reply),
    priority: OUTBOX_PRIORITY[priority ?? 'conversation'],
    not_before: notBefore ? notBefore.toISOString() : null,
    dedupe_key: dedupeKey ?? null,
  }));
  const stored = (await q.execute(sql`
    insert into outbox (identity_id, channel, chat_ref, payload, priority, not_before, dedupe_key)
    select x.identity_id, x.channel, x.chat_ref, x.payload, x.priority, x.not_before, x.dedupe_key
    from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                    as (identity_id uuid, channel channel_kind, chat_ref text, payload jsonb, priority smallint,
                        not_before timestamptz, dedupe_key text)) with ordinality
         as x (identity_id, channel, chat_ref, payload, priority, not_before, dedupe_key, n)
    order by x.n
    on conflict (dedupe_key) do nothing
    returning id, channel, priority, not_before`)) as unknown as { id: string | number; channel: Channel; priority: number; not_before: string | Date | null }[];
  // Raw statements return bigint as text.
  return stored.map((r) => toQueued(r));
}

export function toQueued(r: { id: string | number; channel: Channel; priority: number; not_before: string | Date | null }): QueuedMessage {
  const m: QueuedMessage = { outboxId: Number(r.id), channel: r.channel };
  if (r.priority !== OUTBOX_PRIORITY.conversation) m.priority = priorityName(r.priority);
  if (r.not_before) m.notBefore = new Date(r.not_before);
  return m;
}

/**
 * Hands committed outbox rows to the delivery jobs. Implemented in jobs/ (the core never imports
 * BullMQ); a failure here loses nothing, because the outbox sweep re-enqueues pending rows.
 */
export interface DeliveryQueue {
  enqueue(messages: QueuedMessage[]): Promise<void>;
  /**
   * For the sweep: like enqueue, but a job that already ended (failed for a reason other than the
   * send, or completed without marking the row) is started again instead of being a no-op.
   */
  revive?(messages: QueuedMessage[]): Promise<void>;
}
