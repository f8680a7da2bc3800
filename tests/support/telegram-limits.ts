/**
 * The Bot API's flood limits as the Telegram emulator enforces them: about `globalPerSec` sends a
 * second across all chats (Telegram: 30), `perChatPerSec` to one private chat (1), and
 * `perGroupPerMin` a minute to one group (20; negative chat ids). Each limit is a token bucket
 * that holds a second's worth (a minute's for groups; one message for a private chat) and refills
 * at the rate, counted as GCRA: a sender may burst up to the bucket and then goes at the rate,
 * the way Telegram tolerates a batch of 30 at the top of a second but not 31 a second for long.
 * A refused call is not counted, and is told how many whole seconds to wait (`retry_after`, at
 * least 1), as Telegram's 429 does.
 */
export interface TelegramLimits {
  globalPerSec: number;
  perChatPerSec: number;
  perGroupPerMin: number;
}

/** Telegram's published limits (the benchmarks run at these). */
export const TELEGRAM_LIMITS: TelegramLimits = { globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 };

type Refusal = { ok: false; retryAfter: number; scope: 'global' | 'chat' | 'group' };

/** One token bucket as GCRA: the theoretical arrival time of the next call at the rate. */
class Bucket {
  private tat = -Infinity;
  /** `intervalMs` per call; `tolerance` calls may come early (the bucket's size minus one). */
  constructor(
    private readonly intervalMs: number,
    private readonly toleranceMs: number,
  ) {}

  static of(perSec: number, size: number): Bucket {
    const interval = 1000 / perSec;
    return new Bucket(interval, (size - 1) * interval);
  }

  /** Milliseconds until a call may go (0: now). */
  waitMs(now: number): number {
    return Math.max(0, Math.max(this.tat, now) - this.toleranceMs - now);
  }

  take(now: number): void {
    this.tat = Math.max(this.tat, now) + this.intervalMs;
  }
}

export class FloodControl {
  private global: Bucket;
  private perChat = new Map<number, Bucket>();
  /** Calls refused with 429, per chat. */
  readonly refused = new Map<number, number>();

  constructor(private limits: TelegramLimits) {
    this.global = Bucket.of(limits.globalPerSec, limits.globalPerSec);
  }

  /** A new global rate from now on (Telegram tightening its flood control for a while). */
  setGlobalPerSec(perSec: number): void {
    this.limits = { ...this.limits, globalPerSec: perSec };
    this.global = Bucket.of(perSec, perSec);
  }

  /** Admits one send to `chatId` at `now` (ms), or says how many seconds to wait. */
  admit(chatId: number, now: number): { ok: true } | Refusal {
    const group = chatId < 0;
    let mine = this.perChat.get(chatId);
    if (!mine) {
      mine = group ? Bucket.of(this.limits.perGroupPerMin / 60, this.limits.perGroupPerMin) : Bucket.of(this.limits.perChatPerSec, 1);
      this.perChat.set(chatId, mine);
    }
    const refuse = (ms: number, scope: Refusal['scope']): Refusal => {
      this.refused.set(chatId, (this.refused.get(chatId) ?? 0) + 1);
      return { ok: false, retryAfter: Math.max(1, Math.ceil(ms / 1000)), scope };
    };
    const chatWait = mine.waitMs(now);
    if (chatWait > 0) return refuse(chatWait, group ? 'group' : 'chat');
    const globalWait = this.global.waitMs(now);
    if (globalWait > 0) return refuse(globalWait, 'global');
    mine.take(now);
    this.global.take(now);
    return { ok: true };
  }

  /** Refusals in all. */
  get refusedTotal(): number {
    let n = 0;
    for (const v of this.refused.values()) n += v;
    return n;
  }
}
