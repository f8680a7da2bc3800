import { outbox } from '../../db/schema/index.js';
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
  const rows = await tx
    .insert(outbox)
    .values(
      items.map(({ to, reply }) => ({
        identityId: to.identityId,
        channel: to.channel,
        chatRef: to.chatRef,
        payload: replySchema.parse(reply),
      })),
    )
    .returning({ outboxId: outbox.id, channel: outbox.channel });
  return rows;
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
