import { lt } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { RateLimiterDrizzle, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimits } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import type { Logger } from '../log.js';

/** How many points a key may spend in a window. */
export interface LimitSpec {
  points: number;
  durationSec: number;
}

/**
 * Where rate-limit counters live, chosen here and nowhere else: Redis when REDIS_URL is set, else
 * the `rate_limits` table in PostgreSQL (the zero-config start). Every process pointed at the same
 * store shares the counters, so neither a new session, a second process nor a restart resets
 * them. Wrong-code attempts (src/limits/attempts.ts) and platform call limits
 * (src/limits/call-limits.ts) are both named limiters of one store.
 */
export interface LimitStore {
  readonly kind: 'redis' | 'postgres';
  /** A named limiter; `name` keeps its keys apart from every other limiter's. */
  limiter(name: string, spec: LimitSpec): Limiter;
  /** Deletes expired counters (PostgreSQL; Redis expires its own keys): run hourly, and on demand. */
  sweepExpired(): Promise<number>;
  close(): Promise<void>;
}

export interface Limiter {
  /** Spends `points` for `key`; false once the key is over its limit for this window. */
  take(key: string, points?: number): Promise<boolean>;
  /** Whether `key` has already spent all its points (reads, spends nothing). */
  exhausted(key: string): Promise<boolean>;
  /** Forgets `key` (e.g. a successful code after some wrong ones needn't count against the person). */
  reset(key: string): Promise<void>;
  /**
   * Spends one point, or says how long until one is free. Unlike `take` it does not fail open:
   * a store that is down throws (`LimitStoreDown`), so the caller picks open or closed.
   */
  consume(key: string): Promise<{ ok: true } | { ok: false; msBeforeNext: number }>;
  /** Gives back points spent (a call that another limit then refused). */
  refund(key: string, points?: number): Promise<void>;
}

/** How often the PostgreSQL store deletes expired counters. */
const SWEEP_MS = 3_600_000;

/** The counters' store could not be reached. */
export class LimitStoreDown extends Error {}

export function createLimitStore(opts: { database: Database; redisUrl?: string; prefix: string; logger: Logger }): LimitStore {
  // Auto-pipelining: the calls a tick issues (a broadcast batch takes a permit for each of its
  // 32 chats at once; the web chat one per post) go out in one socket write instead of one each.
  const redis = opts.redisUrl ? new Redis(opts.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false, enableAutoPipelining: true }) : undefined;
  redis?.on('error', (err) => opts.logger.warn({ err: err.message }, 'rate-limit store: redis error'));
  const kind = redis ? 'redis' : 'postgres';
  // RateLimiterDrizzle's own hourly clean-up keeps a timer per limiter that nothing can stop: once
  // its database was closed it logged a failed query an hour later. The store sweeps the table
  // itself instead (expired counters are dead weight, never wrong), and close() stops it.
  const sweepExpired = async () => (redis ? 0 : (await opts.database.db.delete(rateLimits).where(lt(rateLimits.expire, new Date())).returning({ key: rateLimits.key })).length);
  const sweep = redis ? undefined : setInterval(() => void sweepExpired().catch((err: Error) => opts.logger.debug({ err: err.message }, 'rate-limit sweep failed')), SWEEP_MS).unref();
  return {
    sweepExpired,
    kind,
    limiter(name, spec) {
      const base = { keyPrefix: `${opts.prefix}:rl:${name}`, points: spec.points, duration: spec.durationSec };
      const rl: RateLimiterAbstract = redis
        ? new RateLimiterRedis({ ...base, storeClient: redis })
        : new RateLimiterDrizzle({ ...base, storeClient: opts.database.db, schema: rateLimits, clearExpiredByTimeout: false });
      return wrap(rl, spec, name, opts.logger);
    },
    async close() {
      clearInterval(sweep);
      await redis?.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * A store that is down must not stop people from talking to us: limits then fail open (logged),
 * the same trade-off as losing Redis loses no messages.
 */
function wrap(rl: RateLimiterAbstract, spec: LimitSpec, name: string, logger: Logger): Limiter {
  const storeDown = (err: unknown) => logger.warn({ limiter: name, err: err instanceof Error ? err.message : String(err) }, 'rate-limit store unreachable; allowing');
  return {
    async take(key, points = 1) {
      try {
        await rl.consume(key, points);
        return true;
      } catch (err) {
        if (err instanceof RateLimiterRes) return false;
        storeDown(err);
        return true;
      }
    },
    async exhausted(key) {
      try {
        const res = await rl.get(key);
        return (res?.consumedPoints ?? 0) >= spec.points;
      } catch (err) {
        storeDown(err);
        return false;
      }
    },
    async reset(key) {
      await rl.delete(key).catch(storeDown);
    },
    async consume(key) {
      try {
        await rl.consume(key, 1);
        return { ok: true };
      } catch (err) {
        if (err instanceof RateLimiterRes) return { ok: false, msBeforeNext: Math.max(1, err.msBeforeNext) };
        throw new LimitStoreDown(err instanceof Error ? err.message : String(err));
      }
    },
    async refund(key, points = 1) {
      await rl.reward(key, points).catch(storeDown);
    },
  };
}
