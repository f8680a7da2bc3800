import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { withInlineDelivery } from '../../../jobs/inline-delivery.js';
import { createLogger } from '../../../src/log.js';
import type { QueuedMessage } from '../../../src/outbox/outbox.js';

describe('inline delivery of web replies', () => {
  const setup = (fail: Set<number> = new Set()) => {
    const queued: QueuedMessage[] = [];
    const ran: number[] = [];
    const delivery = withInlineDelivery(
      { enqueue: async (m) => void queued.push(...m) },
      async (job: Job) => {
        const id = (job.data as { outboxId: number }).outboxId;
        if (fail.has(id)) throw new Error('database gone');
        ran.push(id);
      },
      { channels: new Set(['web']), logger: createLogger('silent') },
    );
    return { delivery, queued, ran };
  };

  it('delivers web replies at once and queues broadcasts, held rows and other channels', async () => {
    const { delivery, queued, ran } = setup();
    await delivery.enqueue([
      { outboxId: 1, channel: 'web' },
      { outboxId: 2, channel: 'web', priority: 'broadcast' },
      { outboxId: 3, channel: 'telegram' },
      { outboxId: 4, channel: 'web', notBefore: new Date(Date.now() + 60_000) },
      { outboxId: 5, channel: 'web', priority: 'emergency' },
    ]);
    expect(ran).toEqual([1, 5]);
    expect(queued.map((m) => m.outboxId)).toEqual([2, 3, 4]);
  });

  it('hands a row whose inline delivery failed to the queue', async () => {
    const { delivery, queued, ran } = setup(new Set([7]));
    await delivery.enqueue([
      { outboxId: 6, channel: 'web' },
      { outboxId: 7, channel: 'web' },
    ]);
    expect(ran).toEqual([6]);
    expect(queued.map((m) => m.outboxId)).toEqual([7]);
  });

  it('only wakes the chat for a row the turn wrote already sent', async () => {
    const woken: string[] = [];
    const queued: QueuedMessage[] = [];
    const ran: number[] = [];
    const delivery = withInlineDelivery(
      { enqueue: async (m) => void queued.push(...m) },
      async (job: Job) => void ran.push((job.data as { outboxId: number }).outboxId),
      { channels: new Set(['web']), logger: createLogger('silent'), sent: (m) => void woken.push(m.sent.chatRef) },
    );
    await delivery.enqueue([
      { outboxId: 8, channel: 'web', sent: { chatRef: 'chat-a' } },
      { outboxId: 9, channel: 'web' },
    ]);
    expect(woken).toEqual(['chat-a']);
    expect(ran).toEqual([9]);
    expect(queued).toEqual([]);
  });
});
