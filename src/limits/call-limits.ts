import type { Channel } from '../dialog/events.js';
import type { Logger } from '../log.js';
import type { CallLimits, CallPermit } from './calls.js';
import { LimitStoreDown, type Limiter, type LimitSpec, type LimitStore } from './store.js';

/** A platform's published limits (Telegram: 30/s global, 1/s per chat, 20/min per group). */
export interface ChannelCallRates {
  globalPerSec: number;
  perChatPerSec?: number;
  perGroupPerMin?: number;
}

/** A rate per second as a window: one second, or the time one call needs when it is below 1/s. */
export function perSecondSpec(perSec: number): LimitSpec {
  return perSec >= 1 ? { points: Math.floor(perSec), durationSec: 1 } : { points: 1, durationSec: Math.ceil(1 / perSec) };
}

/**
 * Call limits as named limiters of the shared limit store (src/limits/store.ts decides Redis or
 * PostgreSQL), so two worker processes together stay under the platform's limit.
 *
 * A call takes a point from each limit that applies; when one says no, the points already taken
 * for this call are given back (a refused consume is counted too), so refusals do not eat into
 * the budget and the measured rate stays at the limit. A store that is down fails open for the
 * per-chat limits and closed (wait 1 s) for the global one: the platform's 429 is the backstop
 * either way.
 */
export function createCallLimits(opts: {
  rates: Partial<Record<Channel, ChannelCallRates>>;
  store: LimitStore;
  logger: Logger;
  /** Group chats (negative Telegram chat ids) get the per-group limit instead of the per-chat one. */
  isGroup?: (channel: Channel, chatRef: string) => boolean;
}): CallLimits {
  const limiters = new Map<Channel, { global: Limiter; chat?: Limiter; group?: Limiter }>();
  for (const [channel, r] of Object.entries(opts.rates) as [Channel, ChannelCallRates][]) {
    limiters.set(channel, {
      global: opts.store.limiter(`calls:${channel}:global`, perSecondSpec(r.globalPerSec)),
      chat: r.perChatPerSec ? opts.store.limiter(`calls:${channel}:chat`, perSecondSpec(r.perChatPerSec)) : undefined,
      group: r.perGroupPerMin ? opts.store.limiter(`calls:${channel}:group`, { points: r.perGroupPerMin, durationSec: 60 }) : undefined,
    });
  }
  const isGroup = opts.isGroup ?? ((channel, chatRef) => channel === 'telegram' && chatRef.startsWith('-'));

  return {
    async take(channel, chatRef): Promise<CallPermit> {
      const l = limiters.get(channel);
      if (!l) return { ok: true };
      const steps: { limiter: Limiter; key: string; scope: 'global' | 'chat' | 'group' }[] = [];
      const group = isGroup(channel, chatRef);
      const own = group ? l.group : l.chat;
      // The chat first: a chat that must wait takes nothing from the global budget.
      if (own) steps.push({ limiter: own, key: chatRef, scope: group ? 'group' : 'chat' });
      steps.push({ limiter: l.global, key: 'all', scope: 'global' });
      const taken: typeof steps = [];
      for (const step of steps) {
        try {
          const r = await step.limiter.consume(step.key);
          if (!r.ok) {
            await Promise.all([...taken, step].map((t) => t.limiter.refund(t.key)));
            return { ok: false, waitMs: r.msBeforeNext, scope: step.scope };
          }
          taken.push(step);
        } catch (err) {
          if (!(err instanceof LimitStoreDown)) throw err;
          opts.logger.warn({ channel, err: err.message }, 'call-limit store unreachable');
          if (step.scope === 'global') {
            await Promise.all(taken.map((t) => t.limiter.refund(t.key)));
            return { ok: false, waitMs: 1000, scope: 'global' };
          }
        }
      }
      return { ok: true };
    },
  };
}
