import { Redis } from 'ioredis';
import pg from 'pg';
import { RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Channel } from '../dialog/events.js';
import type { Logger } from '../log.js';
import type { CallLimits, CallPermit } from './calls.js';

/** A platform's published limits (Telegram: 30/s global, 1/s per chat, 20/min per group). */
export interface ChannelCallRates {
  globalPerSec: number;
  perChatPerSec?: number;
  perGroupPerMin?: number;
}

/**
 * Call limits in a store every process shares, so two worker processes together stay under the
 * platform's limit: Redis when REDIS_URL is set (RateLimiterRedis), else a table in the app's
 * PostgreSQL (RateLimiterPostgres), the zero-config start. Same shape as i10's src/limits/store.ts
 * (one store, named limiters) so the two can become one.
 *
 * A call takes a point from each limit that applies; when one says no, the points already taken
 * for this call are given back (rate-limiter-flexible counts a refused consume), so refusals do
 * not eat into the budget and the measured rate stays at the limit. A store that is down fails
 * open for the per-chat limits and closed (wait 1 s) for the global one: the platform's 429 is
 * the backstop either way.
 */
export function createCallLimits(opts: {
  rates: Partial<Record<Channel, ChannelCallRates>>;
  redisUrl?: string;
  databaseUrl?: string;
  prefix: string;
  logger: Logger;
  /** Group chats (negative Telegram chat ids) get the per-group limit instead of the per-chat one. */
  isGroup?: (channel: Channel, chatRef: string) => boolean;
}): CallLimits & { close(): Promise<void> } {
  const redis = opts.redisUrl ? new Redis(opts.redisUrl, { maxRetriesPerRequest: 2 }) : undefined;
  redis?.on('error', (err) => opts.logger.warn({ err: err.message }, 'call-limit store: redis error'));
  const pool = redis ? undefined : new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });
  const make = (name: string, points: number, durationSec: number): RateLimiterAbstract => {
    const base = { keyPrefix: `${opts.prefix}:calls:${name}`, points, duration: durationSec };
    return redis
      ? new RateLimiterRedis({ ...base, storeClient: redis })
      : new RateLimiterPostgres({ ...base, storeClient: pool, storeType: 'pool', tableName: 'call_limits', tableCreated: true });
  };
  const limiters = new Map<Channel, { global?: RateLimiterAbstract; chat?: RateLimiterAbstract; group?: RateLimiterAbstract }>();
  for (const [channel, r] of Object.entries(opts.rates) as [Channel, ChannelCallRates][]) {
    // Windows of one second (or the time one call needs when the rate is below 1/s).
    const global = r.globalPerSec >= 1 ? make(`${channel}:global`, Math.floor(r.globalPerSec), 1) : make(`${channel}:global`, 1, Math.ceil(1 / r.globalPerSec));
    limiters.set(channel, {
      global,
      chat: r.perChatPerSec ? make(`${channel}:chat`, Math.max(1, Math.floor(r.perChatPerSec)), r.perChatPerSec >= 1 ? 1 : Math.ceil(1 / r.perChatPerSec)) : undefined,
      group: r.perGroupPerMin ? make(`${channel}:group`, r.perGroupPerMin, 60) : undefined,
    });
  }
  const isGroup = opts.isGroup ?? ((channel, chatRef) => channel === 'telegram' && chatRef.startsWith('-'));

  return {
    async take(channel, chatRef): Promise<CallPermit> {
      const l = limiters.get(channel);
      if (!l) return { ok: true };
      const steps: { rl: RateLimiterAbstract; key: string; scope: 'global' | 'chat' | 'group' }[] = [];
      const own = isGroup(channel, chatRef) ? l.group : l.chat;
      // The chat first: a chat that must wait takes nothing from the global budget.
      if (own) steps.push({ rl: own, key: chatRef, scope: own === l.group ? 'group' : 'chat' });
      if (l.global) steps.push({ rl: l.global, key: 'all', scope: 'global' });
      const taken: typeof steps = [];
      for (const step of steps) {
        try {
          await step.rl.consume(step.key, 1);
          taken.push(step);
        } catch (err) {
          await Promise.all([...taken, step].map((t) => t.rl.reward(t.key, 1).catch(() => {})));
          if (err instanceof RateLimiterRes) return { ok: false, waitMs: Math.max(1, err.msBeforeNext), scope: step.scope };
          opts.logger.warn({ channel, err: (err as Error).message }, 'call-limit store unreachable');
          if (step.scope === 'global') return { ok: false, waitMs: 1000, scope: 'global' };
        }
      }
      return { ok: true };
    },
    async close() {
      await redis?.quit().catch(() => redis.disconnect());
      await pool?.end();
    },
  };
}
