import { like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimits } from '../../db/schema/index.js';
import { createCallLimits } from '../../src/limits/call-limits.js';
import { createLimitStore, type LimitStore } from '../../src/limits/store.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix } from '../support/db.js';
import { flushPrefix } from '../support/redis.js';

/**
 * Call limits are shared by processes: two limiter instances (as two worker processes have) on
 * the same store together grant no more than the limit, on Redis and on PostgreSQL. Counts, not
 * timings, are asserted: whatever the machine's speed, more than the limit per window is a bug.
 */
describe.each(['redis', 'postgres'] as const)('call limits on %s', (kind) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const prefix = uniqueQueuePrefix();
  const logger = createLogger('silent');
  /** One store per "process", as each worker process opens its own. */
  const stores: LimitStore[] = [];
  const make = () => {
    const store = createLimitStore({ database, redisUrl: kind === 'redis' ? TEST_REDIS_URL : undefined, prefix, logger });
    stores.push(store);
    return createCallLimits({ rates: { telegram: { globalPerSec: 10, perChatPerSec: 1, perGroupPerMin: 3 } }, store, logger });
  };
  let a: ReturnType<typeof make>;
  let b: ReturnType<typeof make>;
  beforeAll(async () => {
    database = await createTestDatabase();
    a = make();
    b = make();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    if (kind === 'redis') await flushPrefix(prefix);
    await database?.drop();
  });

  it('grants at most the global limit to two processes together, and says how long to wait', async () => {
    // 60 different chats at once, half through each "process": only 10 may go in this window.
    const permits = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take('telegram', String(1000 + i))));
    const granted = permits.filter((p) => p.ok).length;
    expect(granted).toBeLessThanOrEqual(10);
    expect(granted).toBeGreaterThan(0);
    const refused = permits.filter((p) => !p.ok);
    expect(refused.every((p) => !p.ok && p.scope === 'global' && p.waitMs > 0 && p.waitMs <= 1000)).toBe(true);
  });

  it('gives one chat one call per second across processes, and a group 3 a minute', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // a fresh global window
    const first = await a.take('telegram', '42');
    const second = await b.take('telegram', '42');
    expect(first.ok).toBe(true);
    expect(second).toMatchObject({ ok: false, scope: 'chat' });
    const group = [];
    for (let i = 0; i < 5; i++) group.push(await (i % 2 ? a : b).take('telegram', '-100777'));
    expect(group.filter((p) => p.ok)).toHaveLength(3);
    expect(group.at(-1)).toMatchObject({ ok: false, scope: 'group' });
  });
});

describe('the PostgreSQL limit store', () => {
  it('keeps live counters, sweeps expired ones, and a counter past its window starts over', async () => {
    const database = await createTestDatabase();
    const store = createLimitStore({ database, prefix: uniqueQueuePrefix(), logger: createLogger('silent') });
    try {
      const limiter = store.limiter('sweep-test', { points: 1, durationSec: 60 });
      expect(await limiter.take('a')).toBe(true);
      expect(await limiter.take('b')).toBe(true);
      expect(await limiter.take('a')).toBe(false);
      // 'a' past its window (as an hour later), 'b' still inside it.
      await database.db.update(rateLimits).set({ expire: new Date(Date.now() - 1000) }).where(like(rateLimits.key, '%sweep-test:a'));
      expect(await store.sweepExpired()).toBe(1);
      expect((await database.db.select({ key: rateLimits.key }).from(rateLimits)).map((r) => r.key.split(':').at(-1))).toEqual(['b']);
      expect(await limiter.take('a')).toBe(true);
      expect(await limiter.take('b')).toBe(false);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});
