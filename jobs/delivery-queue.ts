import { queueRegistry, type QueueBackend } from './backend.js';
import { defaultJobOptions, deliverQueueFor, jobIds } from './queues.js';
import type { DeliveryQueue, QueuedMessage } from '../src/outbox/outbox.js';
import type { Channel } from '../src/dialog/events.js';

/**
 * BullMQ priority per outbox class (lower runs first): an 应急 notice, then replies and case
 * cards, then broadcasts, so a resident's reply never waits behind a broadcast on its queue. A
 * row with `notBefore` is a delayed job (the processor and the sweep check the row again).
 */
const JOB_PRIORITY = { emergency: 1, conversation: 2, broadcast: 3 } as const;

export function deliverJobOptions(m: QueuedMessage, now = Date.now()): Record<string, unknown> {
  const delay = m.notBefore ? m.notBefore.getTime() - now : 0;
  return { jobId: jobIds.deliver(m.outboxId), priority: JOB_PRIORITY[m.priority ?? 'conversation'], ...(delay > 0 && { delay }) };
}

/** Hands committed outbox rows to the per-channel deliver queues; the job id is the outbox id. */
export function createDeliveryQueue(backend: QueueBackend): DeliveryQueue & { close(): Promise<void> } {
  const queues = queueRegistry(backend, defaultJobOptions);
  const queueFor = (channel: Channel) => queues.get(deliverQueueFor[channel]);
  return {
    async enqueue(messages: QueuedMessage[]) {
      const byChannel = new Map<Channel, QueuedMessage[]>();
      for (const m of messages) byChannel.set(m.channel, [...(byChannel.get(m.channel) ?? []), m]);
      for (const [channel, items] of byChannel) {
        await queues.addBulk(
          deliverQueueFor[channel],
          items.map((m) => ({
            name: 'deliver',
            data: { outboxId: m.outboxId, channel },
            opts: deliverJobOptions(m),
          })),
        );
      }
    },
    async revive(messages: QueuedMessage[]) {
      for (const m of messages) {
        const queue = queueFor(m.channel);
        const job = await queue.getJob(jobIds.deliver(m.outboxId));
        const state = job ? await job.getState() : 'missing';
        // The outbox row is still pending, so whatever ended this job did not deliver it.
        if (job && (state === 'failed' || state === 'completed')) await job.remove().catch(() => {});
      }
      await this.enqueue(messages);
    },
    close: () => queues.close(),
  };
}
