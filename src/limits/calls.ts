import type { Channel } from '../dialog/events.js';

/**
 * Rate limits per platform CALL (a reply sent as photos + text is several calls), shared by every
 * process that delivers (implemented in src/limits/call-limits.ts over rate-limiter-flexible).
 */
export interface CallLimits {
  /**
   * Takes one call for `chatRef` on `channel` from every limit that applies (global, per chat,
   * per group). Either all are taken, or none is and the caller learns how long to wait and
   * which limit said no (`global`: the whole channel must wait; `chat`/`group`: only this chat).
   */
  take(channel: Channel, chatRef: string): Promise<CallPermit>;
}

export type CallPermit = { ok: true } | { ok: false; waitMs: number; scope: 'global' | 'chat' | 'group' };

/** No limits at all (tests of other things). */
export const unlimitedCalls: CallLimits = { take: async () => ({ ok: true }) };
