import type { Job } from 'bullmq';
import type { Channel } from '../src/dialog/events.js';
import type { Logger } from '../src/log.js';
import type { DeliveryQueue, QueuedMessage } from '../src/outbox/outbox.js';
import { defaultJobOptions } from './define.js';
import { deliverJobFor } from './deliver.js';

/**
 * Delivers some rows right after commit in the process that wrote them, instead of through a
 * deliver job: the web chat's replies, whose "send" is marking the row sent (the browser's poll
 * reads it), so a job per reply would cost more round trips than the delivery itself (on the
 * PostgreSQL queue backend every job is several durable transactions). It runs the same deliver
 * processor a job would (the chat's lock, its rows in order, marked sent, the poll woken), so a
 * row is still sent once. Broadcasts and held rows (not-before) still go through the queue, where
 * they wait behind replies. If the inline delivery fails, the row is handed to the queue; if the
 * process dies first, the outbox sweep finds the row pending. A turn's own replies to a web chat
 * usually need not even that: the dialog engine writes them already sent (`sentOnCommit`), and
 * here they only wake the chat's polls (`opts.sent`).
 */
export function withInlineDelivery(
  queue: DeliveryQueue,
  deliver: (job: Job) => Promise<unknown>,
  opts: { channels: ReadonlySet<Channel>; logger: Logger; sent?: (m: QueuedMessage & { sent: { chatRef: string } }) => void },
): DeliveryQueue {
  const inline = (m: QueuedMessage) => opts.channels.has(m.channel) && m.priority !== 'broadcast' && !m.notBefore;
  return {
    async enqueue(messages) {
      // Written already sent in the turn's own statement (the dialog engine's `sentOnCommit`): only the chat's poll to wake.
      for (const m of messages) if (m.sent) opts.sent?.(m as QueuedMessage & { sent: { chatRef: string } });
      const now = messages.filter((m) => !m.sent && inline(m));
      const later = messages.filter((m) => !m.sent && !inline(m));
      if (later.length) await queue.enqueue(later);
      for (const m of now) {
        const job = { id: `inline-${deliverJobFor[m.channel].id!({ outboxId: m.outboxId, channel: m.channel })}`, name: deliverJobFor[m.channel].name, queueName: 'inline', data: { outboxId: m.outboxId, channel: m.channel }, attemptsMade: 0, opts: { attempts: defaultJobOptions.attempts } };
        try {
          await deliver(job as unknown as Job);
        } catch (err) {
          opts.logger.warn({ err: (err as Error).message, outboxId: m.outboxId }, 'inline delivery failed; handing the row to the deliver queue');
          await queue.enqueue([m]);
        }
      }
    },
    ...(queue.revive && { revive: queue.revive.bind(queue) }),
  };
}
