import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueBackend, queueRegistry, type QueueBackend } from '../../jobs/backend.js';
import { defaultJobOptions } from '../../jobs/define.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix } from '../support/db.js';
import { flushPrefix } from '../support/redis.js';

/**
 * The producer registry groups job adds made while one is on its way (group commit for jobs):
 * every caller's jobs arrive, each caller hears the outcome of its own batch, and an idle call
 * goes out at once. Real queues on both backends.
 */
describe.each(['redis', 'postgres'] as const)('queue registry on the %s backend', (kind) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let backend: QueueBackend;
  const prefix = uniqueQueuePrefix();

  beforeAll(async () => {
    database = await createTestDatabase();
    backend = createQueueBackend(kind === 'redis' ? { kind: 'redis', url: TEST_REDIS_URL, prefix } : { kind: 'postgres', url: database.url, schema: prefix });
  });
  afterAll(async () => {
    await backend?.close();
    if (kind === 'redis') await flushPrefix(prefix);
    await database?.drop();
  });

  it('adds every job of many concurrent calls in fewer round trips, and a lone call at once', async () => {
    const registry = queueRegistry(backend, defaultJobOptions);
    const queue = registry.get('registry-test');
    // Count what reaches BullMQ (the real methods still run).
    let calls = 0;
    for (const method of ['add', 'addBulk'] as const) {
      const real = (queue as any)[method].bind(queue);
      (queue as any)[method] = (...args: unknown[]) => {
        calls++;
        return real(...args);
      };
    }
    try {
      await registry.addBulk('registry-test', [{ name: 'x', data: { n: 0 }, opts: { jobId: 'lone' } }]);
      expect(calls).toBe(1);
      expect(await queue.getJob('lone')).toBeTruthy();

      calls = 0;
      await Promise.all(Array.from({ length: 40 }, (_, n) => registry.addBulk('registry-test', [{ name: 'x', data: { n }, opts: { jobId: `j-${n}` } }])));
      // The first call goes out alone; the 39 made meanwhile share the next round trip.
      expect(calls).toBe(2);
      const stored = await Promise.all(Array.from({ length: 40 }, (_, n) => queue.getJob(`j-${n}`)));
      expect(stored.map((j) => (j?.data as { n: number } | undefined)?.n)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    } finally {
      await queue.obliterate({ force: true }).catch(() => {});
      await registry.close();
    }
  });

  it('tells every caller of a batch that failed, and the next batch still goes out', async () => {
    const registry = queueRegistry(backend, defaultJobOptions);
    const queue = registry.get('registry-fail');
    const real = queue.addBulk.bind(queue);
    let failNext = true;
    (queue as any).addBulk = (jobs: Parameters<typeof real>[0]) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('queue unavailable'));
      }
      return real(jobs);
    };
    try {
      // Two jobs in the first call so it is an addBulk; the second and third share the next one.
      const first = registry.addBulk('registry-fail', [
        { name: 'x', data: {}, opts: { jobId: 'f-1' } },
        { name: 'x', data: {}, opts: { jobId: 'f-2' } },
      ]);
      const second = registry.addBulk('registry-fail', [{ name: 'x', data: {}, opts: { jobId: 'f-3' } }]);
      const third = registry.addBulk('registry-fail', [{ name: 'x', data: {}, opts: { jobId: 'f-4' } }]);
      await expect(first).rejects.toThrow('queue unavailable');
      await expect(Promise.all([second, third])).resolves.toBeTruthy();
      expect(await queue.getJob('f-1')).toBeFalsy();
      expect(await queue.getJob('f-3')).toBeTruthy();
      expect(await queue.getJob('f-4')).toBeTruthy();
    } finally {
      await queue.obliterate({ force: true }).catch(() => {});
      await registry.close();
    }
  });
});
