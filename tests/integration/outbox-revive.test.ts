import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueBackend, redisOptionsFromUrl, type QueueBackend } from '../../jobs/backend.js';
import { createJobs, type Jobs } from '../../jobs/producer.js';
import { JOBS } from '../../jobs/registry.js';
import { TEST_REDIS_URL, uniqueQueuePrefix } from '../support/db.js';
import { flushPrefix } from '../support/redis.js';

/**
 * The outbox sweep's revive on Redis: a deliver job whose hash outlived its place in every list
 * (Redis lost keys while a worker touched the job: tests/fault/broadcast.test.ts met it when the
 * prefix was flushed mid-broadcast) is in no state at all; left alone it would hold the row's
 * deterministic job id, and the row, forever. Revive replaces it with a job that runs.
 */
describe('reviving a deliver job left in no state', () => {
  const prefix = uniqueQueuePrefix();
  let backend: QueueBackend;
  let jobs: Jobs;
  let redis: Redis;

  beforeAll(() => {
    backend = createQueueBackend({ kind: 'redis', url: TEST_REDIS_URL, prefix });
    jobs = createJobs(backend);
    redis = new Redis(redisOptionsFromUrl(TEST_REDIS_URL));
  });
  afterAll(async () => {
    redis?.disconnect();
    await jobs?.close();
    await backend?.close();
    await flushPrefix(prefix);
  });

  it('re-adds the job so the row is delivered', async () => {
    const def = JOBS.deliverTelegram;
    const message = { outboxId: 4711, channel: 'telegram' as const };
    await jobs.delivery.enqueue([message]);
    const queue = new backend.classes.Queue(def.name, { ...backend.connectionOptions() } as any);
    try {
      const id = def.id!(message);
      // Off every list, its hash (without its data, as a worker's write recreates it) left behind.
      const base = `${prefix}:${def.name}`;
      await redis.lrem(`${base}:wait`, 0, id);
      await redis.zrem(`${base}:prioritized`, id);
      await redis.hdel(`${base}:${id}`, 'data', 'name', 'opts');
      expect(await (await queue.getJob(id))!.getState()).toBe('unknown');

      await jobs.delivery.revive!([message]);
      const revived = await queue.getJob(id);
      expect(['waiting', 'prioritized']).toContain(await revived!.getState());
      expect(revived!.data).toEqual(message);
    } finally {
      await queue.close();
    }
  });
});
