import { describe, expect, it } from 'vitest';
import { FloodControl } from '../support/telegram-limits.js';

/** The Telegram emulator's flood limits (token buckets), worked by hand; times in ms. */
describe('the Telegram emulator flood control', () => {
  it('refuses a second message to one chat within a second and says to retry after 1 s', () => {
    const f = new FloodControl({ globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 });
    expect(f.admit(7, 10_000)).toEqual({ ok: true });
    expect(f.admit(7, 10_400)).toEqual({ ok: false, retryAfter: 1, scope: 'chat' });
    expect(f.admit(7, 11_000)).toEqual({ ok: true });
    expect(f.refused.get(7)).toBe(1);
  });

  it('lets a burst of a second\'s worth through, then only the rate', () => {
    const f = new FloodControl({ globalPerSec: 3, perChatPerSec: 1, perGroupPerMin: 20 });
    expect([1, 2, 3].map((c) => f.admit(c, 0).ok)).toEqual([true, true, true]);
    expect(f.admit(4, 0)).toEqual({ ok: false, retryAfter: 1, scope: 'global' });
    // One call's worth (333 ms) has refilled.
    expect(f.admit(4, 334).ok).toBe(true);
    expect(f.admit(5, 334).ok).toBe(false);
    expect(f.refusedTotal).toBe(2);
  });

  it('holds a sender flooding for 10 s to the rate plus one bucket', () => {
    const f = new FloodControl({ globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 });
    let accepted = 0;
    for (let ms = 0; ms < 10_000; ms++) if (f.admit(1000 + ms, ms).ok) accepted++;
    // 30 at once, then one every 33.3 ms over the remaining 9,999 ms.
    expect(accepted).toBe(30 + 299);
  });

  it('gives a group 20 messages at once, then one every 3 s, and names the seconds to wait', () => {
    const f = new FloodControl({ globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 });
    for (let i = 0; i < 20; i++) expect(f.admit(-100, 0).ok).toBe(true);
    expect(f.admit(-100, 0)).toEqual({ ok: false, retryAfter: 3, scope: 'group' });
    expect(f.admit(-100, 3000).ok).toBe(true);
  });

  it('does not count a refused call against the limit', () => {
    const f = new FloodControl({ globalPerSec: 2, perChatPerSec: 1, perGroupPerMin: 20 });
    f.admit(1, 0);
    for (let i = 0; i < 5; i++) expect(f.admit(1, 100).ok).toBe(false);
    expect(f.admit(2, 100).ok).toBe(true);
  });
});
