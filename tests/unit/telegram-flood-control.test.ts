import { describe, expect, it } from 'vitest';
import { FloodControl } from '../support/telegram-limits.js';

/** The Telegram emulator's flood limits, worked by hand (times in ms). */
describe('the Telegram emulator flood control', () => {
  it('refuses a second message to one chat within a second and says to retry after 1 s', () => {
    const f = new FloodControl({ globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 });
    expect(f.admit(7, 10_000)).toEqual({ ok: true });
    expect(f.admit(7, 10_400)).toEqual({ ok: false, retryAfter: 1, scope: 'chat' });
    expect(f.admit(7, 11_000)).toEqual({ ok: true });
    expect(f.refused.get(7)).toBe(1);
  });

  it('admits the global limit in any second, counting a burst across a window edge', () => {
    const f = new FloodControl({ globalPerSec: 3, perChatPerSec: 1, perGroupPerMin: 20 });
    expect([1, 2, 3].map((c) => f.admit(c, 900).ok)).toEqual([true, true, true]);
    // 1,000 ms later is a fresh second; 1,100 ms after the first three is not yet.
    expect(f.admit(4, 1500)).toEqual({ ok: false, retryAfter: 1, scope: 'global' });
    expect(f.admit(4, 1900).ok).toBe(true);
    expect(f.refusedTotal).toBe(1);
  });

  it('gives a group 20 messages a minute and names the seconds until the oldest leaves the window', () => {
    const f = new FloodControl({ globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 });
    for (let i = 0; i < 20; i++) expect(f.admit(-100, i * 1000).ok).toBe(true);
    expect(f.admit(-100, 20_000)).toEqual({ ok: false, retryAfter: 40, scope: 'group' });
    expect(f.admit(-100, 60_001).ok).toBe(true);
  });

  it('does not count a refused call against the limit', () => {
    const f = new FloodControl({ globalPerSec: 2, perChatPerSec: 1, perGroupPerMin: 20 });
    f.admit(1, 0);
    for (let i = 0; i < 5; i++) expect(f.admit(1, 100).ok).toBe(false);
    expect(f.admit(2, 100).ok).toBe(true);
  });
});
