import { queueRegistry, type QueueBackend } from './backend.js';
import { defaultJobOptions, deliverQueueFor, jobIds } from './queues.js';
import type { DeliveryQueue, QueuedMessage } from '../src/outbox/outbox.js';
import type { Channel } from '../src/dialog/events.js';

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
            opts: { jobId: jobIds.deliver(m.outboxId) },
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
