import { describe, expect, it } from 'vitest';
import { deliverFrom, formatLocal, inQuietHours, localClock, parseLocal } from '../../../src/notices/rules.js';

const NIGHT = { startSec: 21 * 3600, endSec: 8 * 3600 };
const SH = 'Asia/Shanghai';
// Shanghai is UTC+8 all year: 13:30Z is 21:30 there.
const at = (iso: string) => new Date(iso);

describe('quiet hours (免打扰, 21:00–08:00 Asia/Shanghai)', () => {
  it('reads the local clock in Shanghai', () => {
    expect(localClock(at('2026-12-01T13:30:00Z'), SH)).toEqual({ secOfDay: 21 * 3600 + 30 * 60, offsetMs: 8 * 3600_000 });
  });

  it('treats the start as quiet and the end as not', () => {
    expect(inQuietHours(21 * 3600, NIGHT)).toBe(true);
    expect(inQuietHours(8 * 3600 - 1, NIGHT)).toBe(true);
    expect(inQuietHours(8 * 3600, NIGHT)).toBe(false);
    expect(inQuietHours(12 * 3600, NIGHT)).toBe(false);
    expect(inQuietHours(2 * 3600, NIGHT)).toBe(true);
  });

  it('handles a window that does not wrap midnight, and an empty one', () => {
    const lunch = { startSec: 12 * 3600, endSec: 14 * 3600 };
    expect(inQuietHours(13 * 3600, lunch)).toBe(true);
    expect(inQuietHours(22 * 3600, lunch)).toBe(false);
    expect(inQuietHours(3 * 3600, { startSec: 0, endSec: 0 })).toBe(false);
  });

  it('holds a 21:30 notice until 08:00 the next morning', () => {
    // 21:30 on 1 Dec local → 08:00 on 2 Dec local = 00:00Z on 2 Dec.
    expect(deliverFrom(at('2026-12-01T13:30:00Z'), 'general', NIGHT, SH)).toEqual(at('2026-12-02T00:00:00Z'));
  });

  it('holds a 03:15 notice until 08:00 the same morning', () => {
    // 03:15 local on 2 Dec = 19:15Z on 1 Dec → 08:00 local = 00:00Z on 2 Dec.
    expect(deliverFrom(at('2026-12-01T19:15:00Z'), 'activity', NIGHT, SH)).toEqual(at('2026-12-02T00:00:00Z'));
  });

  it('sends a 10:00 notice at once', () => {
    const t = at('2026-12-02T02:00:00Z');
    expect(deliverFrom(t, 'outage', NIGHT, SH)).toEqual(t);
  });

  it('never holds an emergency (应急), even at 02:00', () => {
    const t = at('2026-12-01T18:00:00Z');
    expect(deliverFrom(t, 'emergency', NIGHT, SH)).toEqual(t);
  });

  it('respects a zone with daylight saving: 08:00 local after the spring change', () => {
    // Berlin: 29 Mar 2026 clocks go 02:00 → 03:00. 23:00 local on 28 Mar (22:00Z, UTC+1) → 08:00 local
    // on 29 Mar (06:00Z, UTC+2): 8 hours later, not 9.
    const berlinNight = { startSec: 22 * 3600, endSec: 8 * 3600 };
    expect(deliverFrom(at('2026-03-28T22:00:00Z'), 'general', berlinNight, 'Europe/Berlin')).toEqual(at('2026-03-29T06:00:00Z'));
  });
});

describe('send times typed by staff', () => {
  it('reads a Shanghai wall-clock time as the instant 8 hours earlier in UTC', () => {
    expect(parseLocal('2026-12-02 09:30', SH)).toEqual(at('2026-12-02T01:30:00Z'));
    expect(parseLocal('2026/12/2 9：05', SH)).toEqual(at('2026-12-02T01:05:00Z'));
  });
  it('refuses what is no time', () => {
    expect(parseLocal('明天上午', SH)).toBeUndefined();
    expect(parseLocal('2026-02-30 09:00', SH)).toBeUndefined();
    expect(parseLocal('2026-12-02 24:00', SH)).toBeUndefined();
  });
  it('formats an instant on the local clock', () => {
    expect(formatLocal(at('2026-12-02T00:00:00Z'), SH)).toBe('2026-12-02 08:00');
  });
});
