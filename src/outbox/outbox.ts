import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import type { Channel } from '../dialog/events.js';
import { replySchema, type Reply } from '../dialog/reply.js';

/** Where a message goes: one channel identity of a person. */
export interface Recipient {
  identityId: string;
  channel: Channel;
  chatRef: string;
}

/** A row written to the outbox that must be handed to the delivery queue after commit. */
export interface QueuedMessage {
  outboxId: number;
  channel: Channel;
}

/**
 * Writes messages to the outbox inside the caller's transaction, so they exist if and only if the
 * change that caused them committed. Returns what to enqueue once the transaction is done.
 */
export async function queueMessages(tx: Tx, items: { to: Recipient; reply: Reply }[]): Promise<QueuedMessage[]> {
  if (items.length === 0) return [];
  return queuedFrom(await tx.execute(outboxInsert(items)));
}

/**
 * The INSERT behind queueMessages, for a caller that runs it as the last part of a statement of
 * its own (the dialog engine saves the chat's state in the same round trip); read its result with
 * `queuedFrom`.
 */
export function outboxInsert(items: { to: Recipient; reply: Reply }[]): SQL {
  const rows = items.map(({ to, reply }) => ({ identity_id: to.identityId, channel: to.channel, chat_ref: to.chatRef, payload: replySchema.parse(reply) }));
  // The rows as one JSON parameter: one prepared statement whatever their number, nothing to
  // build per row (a routing batch queues hundreds). `ordinality` keeps their order in the ids.
  return sql`
    insert into outbox (identity_id, channel, chat_ref, payload)
    select x.identity_id, x.channel, x.chat_ref, x.payload
    from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                    as (identity_id uuid, channel channel_kind, chat_ref text, payload jsonb)) with ordinality
         as x (identity_id, channel, chat_ref, payload, n)
    order by x.n
    returning id, channel`;
}

export function queuedFrom(stored: unknown): QueuedMessage[] {
  // Raw statements return bigint as text.
  return (stored as { id: string | number; channel: Channel }[]).map((r) => ({ outboxId: Number(r.id), channel: r.channel }));
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
