import { describe, expect, it } from 'vitest';
import { limiterFor, perChatWaitMs } from '../../src/ratelimit.js';

describe('perChatWaitMs', () => {
  it('does not wait before the first message to a chat', () => {
    expect(perChatWaitMs(undefined, 1_000_000, 1)).toBe(0);
  });

  it('does not wait when no per-chat limit applies (0 or less per second)', () => {
    expect(perChatWaitMs(1_000_000, 1_000_000, 0)).toBe(0);
    expect(perChatWaitMs(1_000_000, 1_000_000, -1)).toBe(0);
  });

  it('waits out the rest of the gap since the last message (1 per second)', () => {
    expect(perChatWaitMs(10_000, 10_000, 1)).toBe(1000);
    expect(perChatWaitMs(10_000, 10_250, 1)).toBe(750);
    expect(perChatWaitMs(10_000, 10_999, 1)).toBe(1);
  });

  it('does not wait once the gap has passed, and never returns a negative wait', () => {
    expect(perChatWaitMs(10_000, 11_000, 1)).toBe(0);
    expect(perChatWaitMs(10_000, 60_000, 1)).toBe(0);
  });

  it('scales the gap with the rate', () => {
    expect(perChatWaitMs(0, 0, 2)).toBe(500);
    expect(perChatWaitMs(0, 100, 4)).toBe(150);
    // A fractional rate means a gap longer than a second.
    expect(perChatWaitMs(0, 0, 0.5)).toBe(2000);
  });

  it('rounds up, so waiting the returned time always satisfies the limit', () => {
    // 3 per second: a 333.33… ms gap.
    expect(perChatWaitMs(0, 0, 3)).toBe(334);
    for (const perSec of [1, 2, 3, 7, 30, 0.3]) {
      for (const elapsed of [0, 1, 17, 333, 999, 2500]) {
        const last = 1_700_000_000_000;
        const now = last + elapsed;
        const wait = perChatWaitMs(last, now, perSec);
        expect(Number.isInteger(wait)).toBe(true);
        expect(wait).toBeGreaterThanOrEqual(0);
        // After waiting, at least 1/perSec seconds separate the two messages…
        expect(now + wait - last).toBeGreaterThanOrEqual(1000 / perSec);
        // …and not a whole millisecond more than needed.
        if (wait > 0) expect(now + wait - 1 - last).toBeLessThan(1000 / perSec);
      }
    }
  });
});

describe('limiterFor', () => {
  it('gives BullMQ a per-second limiter for whole rates', () => {
    expect(limiterFor(30)).toEqual({ max: 30, duration: 1000 });
    expect(limiterFor(1)).toEqual({ max: 1, duration: 1000 });
    expect(limiterFor(500)).toEqual({ max: 500, duration: 1000 });
  });

  it('rounds a fractional rate above 1 down, never allowing more than asked', () => {
    expect(limiterFor(2.9)).toEqual({ max: 2, duration: 1000 });
  });

  it('never allows more messages per second than asked, and always at least one per window', () => {
    for (const perSec of [0.25, 0.5, 0.9, 1, 1.5, 5, 29.99, 30]) {
      const { max, duration } = limiterFor(perSec);
      expect(Number.isInteger(max)).toBe(true);
      expect(max).toBeGreaterThanOrEqual(1);
      expect(duration).toBeGreaterThan(0);
      expect((max * 1000) / duration).toBeLessThanOrEqual(perSec);
    }
  });

  it('spreads a rate below one per second over a longer window', () => {
    expect(limiterFor(0.5)).toEqual({ max: 1, duration: 2000 });
  });
});
