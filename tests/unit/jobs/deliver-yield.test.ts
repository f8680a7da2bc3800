import { DelayedError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../../db/client.js';
import { createDeliverProcessor, DELIVER_JOB_PRIORITY } from '../../../jobs/deliver.js';
import { createLogger } from '../../../src/log.js';

describe('broadcast deliveries step aside while conversation is busy', () => {
  // Reaching the database at all means the job went ahead.
  const database = {
    sql: { options: { max: 4 } },
    db: {
      transaction: async () => {
        throw new Error('database reached');
      },
      // A broadcast job first looks whether its row went out with another batch.
      select: () => {
        throw new Error('database reached');
      },
    },
  } as unknown as Database;
  const adapters = new Map([['web' as const, { channel: 'web' as const, start: async () => {}, stop: async () => {}, send: async () => ({ ok: true as const }), fetchMedia: async () => { throw new Error('none'); } }]]);
  const job = (priority: number, queuedAgoMs = 0) => {
    const moved: number[] = [];
    const j = { id: 'out-1', data: { outboxId: 1, channel: 'web' }, attemptsMade: 0, timestamp: Date.now() - queuedAgoMs, opts: { attempts: 8, priority }, moveToDelayed: async (at: number) => void moved.push(at) };
    return { job: j as unknown as Job, moved };
  };

  it('puts a broadcast job back for a moment, reading nothing, while turns are busy', async () => {
    let busy = true;
    const deliver = createDeliverProcessor({ database, adapters, logger: createLogger('silent'), conversationBusy: () => busy });
    const broadcast = job(DELIVER_JOB_PRIORITY.broadcast);
    await expect(deliver(broadcast.job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(broadcast.moved).toHaveLength(1);
    expect(broadcast.moved[0]!).toBeGreaterThan(Date.now());

    // Replies and 应急 never step aside; a broadcast goes ahead once turns are quiet.
    for (const priority of [DELIVER_JOB_PRIORITY.conversation, DELIVER_JOB_PRIORITY.emergency]) {
      await expect(deliver(job(priority).job, 'token')).rejects.toThrow('database reached');
    }
    // Deferred, not starved: a broadcast queued a while ago goes ahead even while turns are busy.
    await expect(deliver(job(DELIVER_JOB_PRIORITY.broadcast, 60_000).job, 'token')).rejects.toThrow('database reached');
    busy = false;
    await expect(deliver(job(DELIVER_JOB_PRIORITY.broadcast).job, 'token')).rejects.toThrow('database reached');
  });
});
