import { describe, expect, it } from 'vitest';
import {
  checkinCodeFrom,
  checkinOpen,
  countNoShows,
  coverage,
  distinctCheckinCodes,
  expandSeries,
  mayRate,
  nextOffers,
  normaliseCode,
  offerExpiry,
  remindersAhead,
  SERVICE_LINES,
  signupWindowProblem,
} from '../../../src/activities/rules.js';

const at = (s: string) => new Date(s);

describe('activity rules', () => {
  it('offers freed seats to the earliest arrivals only, as many as are free', () => {
    const waiting = [{ id: 'c', arrival: 9 }, { id: 'a', arrival: 3 }, { id: 'b', arrival: 5 }];
    expect(nextOffers(waiting, 1).map((w) => w.id)).toEqual(['a']);
    expect(nextOffers(waiting, 2).map((w) => w.id)).toEqual(['a', 'b']);
    expect(nextOffers(waiting, 5).map((w) => w.id)).toEqual(['a', 'b', 'c']);
    expect(nextOffers(waiting, 0)).toEqual([]);
  });

  it('ends an offer after the configured minutes, but never after the session starts', () => {
    const now = at('2026-12-01T08:00:00Z');
    expect(offerExpiry(now, 120, at('2026-12-02T08:00:00Z')).toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(offerExpiry(now, 120, at('2026-12-01T09:00:00Z')).toISOString()).toBe('2026-12-01T09:00:00.000Z');
  });

  it('takes a sign-up window that opens before the last start and closes after it opens, after now and by the last start', () => {
    const now = at('2026-12-01T08:00:00Z');
    const lastStart = at('2026-12-10T08:30:00Z');
    const w = (opens: string, closes: string) => signupWindowProblem({ opensAt: at(opens), closesAt: at(closes) }, lastStart, now);
    expect(w('2026-12-01T08:00:00Z', '2026-12-10T08:30:00Z')).toBeUndefined();
    expect(w('2026-11-20T00:00:00Z', '2026-12-05T00:00:00Z')).toBeUndefined();
    expect(w('2026-12-03T00:00:00Z', '2026-12-02T00:00:00Z')).toBe('signup_closes_before_opens');
    expect(w('2026-12-03T00:00:00Z', '2026-12-03T00:00:00Z')).toBe('signup_closes_before_opens');
    // Opened last month and closed yesterday: nobody could sign up.
    expect(w('2026-11-01T00:00:00Z', '2026-11-30T00:00:00Z')).toBe('signup_closes_before_opens');
    expect(w('2026-12-01T08:00:00Z', '2026-12-10T08:31:00Z')).toBe('signup_closes_after_start');
    expect(w('2026-12-10T08:30:00Z', '2026-12-11T00:00:00Z')).toBe('signup_opens_after_start');
  });

  it('gives each session of a series its own check-in code, drawing again on a repeat', () => {
    const draws = [[0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4], [0, 0, 0, 0], [5, 5, 5, 5]].map((b) => Uint8Array.from(b));
    let i = 0;
    const codes = distinctCheckinCodes(3, () => draws[i++]!);
    expect(codes).toEqual(['2222', '3456', '7777']);
    expect(i).toBe(5);
  });

  it('arms only the reminders still ahead', () => {
    const start = at('2026-12-03T08:30:00Z');
    expect(remindersAhead(start, at('2026-12-01T08:00:00Z')).map((r) => [r.key, r.at.toISOString()])).toEqual([
      ['24h', '2026-12-02T08:30:00.000Z'],
      ['1h', '2026-12-03T07:30:00.000Z'],
    ]);
    expect(remindersAhead(start, at('2026-12-03T05:30:00Z')).map((r) => r.key)).toEqual(['1h']);
    expect(remindersAhead(start, at('2026-12-03T08:00:00Z'))).toEqual([]);
  });

  it('expands every Wednesday 16:30 Beijing time over a term', () => {
    // 2026-09-01 is a Tuesday; the term ends Wednesday 2026-09-30.
    const s = expandSeries({ from: '2026-09-01', until: '2026-09-30', weekday: 3, time: '16:30', durationMinutes: 90, capacity: 30, timeZone: 'Asia/Shanghai' });
    expect(s.map((x) => x.startsAt.toISOString())).toEqual([
      '2026-09-02T08:30:00.000Z',
      '2026-09-09T08:30:00.000Z',
      '2026-09-16T08:30:00.000Z',
      '2026-09-23T08:30:00.000Z',
      '2026-09-30T08:30:00.000Z',
    ]);
    expect(s[0]!.endsAt.toISOString()).toBe('2026-09-02T10:00:00.000Z');
    expect(s.every((x) => x.capacity === 30)).toBe(true);
  });

  it('makes short codes without look-alike characters and reads them leniently', () => {
    expect(checkinCodeFrom(new Uint8Array([0, 1, 2, 3]))).toBe('2345');
    expect(checkinCodeFrom(new Uint8Array([31, 62, 8, 255]))).toMatch(/^[2-9A-HJKMNP-Z]{4}$/);
    expect(normaliseCode(' ab ７k ')).toBe('AB7K');
  });

  it('opens check-in an hour before the start until the end', () => {
    const s = { startsAt: at('2026-12-03T08:30:00Z'), endsAt: at('2026-12-03T10:00:00Z') };
    expect(checkinOpen(s, at('2026-12-03T07:29:00Z'))).toBe(false);
    expect(checkinOpen(s, at('2026-12-03T07:31:00Z'))).toBe(true);
    expect(checkinOpen(s, at('2026-12-03T10:01:00Z'))).toBe(false);
  });

  it('lets only those who came rate', () => {
    expect(mayRate({ status: 'confirmed', checkedInAt: at('2026-12-03T08:20:00Z') })).toBe(true);
    expect(mayRate({ status: 'confirmed', checkedInAt: null })).toBe(false);
    expect(mayRate({ status: 'cancelled', checkedInAt: at('2026-12-03T08:20:00Z') })).toBe(false);
  });

  it('counts no-shows per participant over ended sessions only', () => {
    const ended = at('2026-12-01T10:00:00Z');
    const later = at('2026-12-09T10:00:00Z');
    const rows = [
      { participantId: 'p', status: 'confirmed' as const, checkedInAt: null, endsAt: ended },
      { participantId: 'p', status: 'confirmed' as const, checkedInAt: null, endsAt: ended },
      { participantId: 'p', status: 'confirmed' as const, checkedInAt: null, endsAt: later },
      { participantId: 'q', status: 'confirmed' as const, checkedInAt: ended, endsAt: ended },
      { participantId: 'r', status: 'cancelled' as const, checkedInAt: null, endsAt: ended },
    ];
    expect([...countNoShows(rows, at('2026-12-05T00:00:00Z'))]).toEqual([['p', 2]]);
  });

  it('counts no no-shows for a sign-up kept without its participant after erasure', () => {
    const ended = at('2026-12-01T10:00:00Z');
    const rows = [null, null, 'p'].map((participantId) => ({ participantId, status: 'confirmed' as const, checkedInAt: null, endsAt: ended }));
    expect([...countNoShows(rows, at('2026-12-05T00:00:00Z'))]).toEqual([['p', 1]]);
  });

  it('reports every community × service line against the aim of two', () => {
    const cells = coverage([7, 8], [{ communityId: 7, line: 'law', count: 2 }, { communityId: 7, line: 'health', count: 1 }]);
    expect(cells).toHaveLength(2 * SERVICE_LINES.length);
    expect(cells.find((c) => c.communityId === 7 && c.line === 'law')).toEqual({ communityId: 7, line: 'law', held: 2, aim: 2, met: true });
    expect(cells.find((c) => c.communityId === 7 && c.line === 'health')!.met).toBe(false);
    expect(cells.filter((c) => c.communityId === 8).every((c) => c.held === 0 && !c.met)).toBe(true);
  });
});
