/**
 * The Bot API's flood limits as the Telegram emulator enforces them: at most `globalPerSec` sends
 * in any second across all chats (Telegram: about 30), at most `perChatPerSec` in any second to
 * one private chat (1), at most `perGroupPerMin` in any minute to one group (20, negative chat
 * ids). Sliding windows over the calls the emulator accepted, so a burst straddling a window edge
 * is refused as Telegram's own counting would; a refused call is not counted. A refusal says
 * how many whole seconds to wait (`retry_after`, at least 1), as Telegram's 429 does.
 */
export interface TelegramLimits {
  globalPerSec: number;
  perChatPerSec: number;
  perGroupPerMin: number;
}

/** Telegram's published limits (the benchmarks run at these). */
export const TELEGRAM_LIMITS: TelegramLimits = { globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 };

export class FloodControl {
  /** Accept times (ms) of the last second's calls, oldest first. */
  private global: number[] = [];
  private perChat = new Map<number, number[]>();
  /** Calls refused with 429, per chat. */
  readonly refused = new Map<number, number>();

  constructor(readonly limits: TelegramLimits) {}

  /** Admits one send to `chatId` at `now` (ms), or returns the seconds to wait. */
  admit(chatId: number, now: number): { ok: true } | { ok: false; retryAfter: number; scope: 'global' | 'chat' | 'group' } {
    const group = chatId < 0;
    const chatWindow = group ? 60_000 : 1000;
    const chatMax = group ? this.limits.perGroupPerMin : this.limits.perChatPerSec;
    const mine = prune(this.perChat.get(chatId) ?? [], now - chatWindow);
    this.global = prune(this.global, now - 1000);
    const wait = (oldest: number, window: number) => Math.max(1, Math.ceil((oldest + window - now) / 1000));
    let refusal: { ok: false; retryAfter: number; scope: 'global' | 'chat' | 'group' } | undefined;
    if (mine.length >= chatMax) refusal = { ok: false, retryAfter: wait(mine[mine.length - chatMax]!, chatWindow), scope: group ? 'group' : 'chat' };
    else if (this.global.length >= this.limits.globalPerSec) refusal = { ok: false, retryAfter: wait(this.global[this.global.length - this.limits.globalPerSec]!, 1000), scope: 'global' };
    if (refusal) {
      this.refused.set(chatId, (this.refused.get(chatId) ?? 0) + 1);
      this.perChat.set(chatId, mine);
      return refusal;
    }
    mine.push(now);
    this.global.push(now);
    this.perChat.set(chatId, mine);
    return { ok: true };
  }

  /** Refusals in all. */
  get refusedTotal(): number {
    let n = 0;
    for (const v of this.refused.values()) n += v;
    return n;
  }
}

/** Drops the times at or before `after` (the list is sorted). */
function prune(times: number[], after: number): number[] {
  let i = 0;
  while (i < times.length && times[i]! <= after) i++;
  return i === 0 ? times : times.slice(i);
}
