import { describe, expect, it } from 'vitest';
import {
  allowed,
  autoCloseDue,
  chinaDay,
  CASE_NUMBER_PATTERN,
  deadline,
  DEFAULT_SLA,
  distanceMeters,
  formatCaseNumber,
  looksLikeSameProblem,
  nextLevel,
  ratingOutcome,
  reminderTimes,
  slaFor,
} from '../../../src/cases/rules.js';

const t0 = new Date('2026-11-22T02:00:00Z');

describe('case numbers', () => {
  it('use the local (UTC+8) day and pad the sequence', () => {
    expect(chinaDay(new Date('2026-11-22T15:59:59Z'))).toBe('2026-11-22');
    expect(chinaDay(new Date('2026-11-22T16:00:00Z'))).toBe('2026-11-23');
    expect(formatCaseNumber('JH', '2026-11-22', 7)).toBe('JH-20261122-0007');
    expect(formatCaseNumber('JH', '2026-11-22', 12345)).toBe('JH-20261122-12345');
    expect(CASE_NUMBER_PATTERN.test('JH-20261122-0007')).toBe(true);
  });
});

describe('deadlines', () => {
  it('prefer the category policy, then the catch-all, then the defaults', () => {
    const policies = [
      { categoryId: null, priority: 'normal' as const, acceptMinutes: 60, resolveMinutes: 600, escalationMinutes: 60 },
      { categoryId: 3, priority: 'normal' as const, acceptMinutes: 10, resolveMinutes: 100, escalationMinutes: 10 },
    ];
    expect(slaFor(policies, 3, 'normal').acceptMinutes).toBe(10);
    expect(slaFor(policies, 4, 'normal').acceptMinutes).toBe(60);
    expect(slaFor(policies, 4, 'urgent')).toEqual(DEFAULT_SLA.urgent);
  });

  it('default to 30 min / 4 h for urgent and 2 h / 3 days for normal', () => {
    expect(deadline(DEFAULT_SLA.urgent, 'accept', t0).getTime() - t0.getTime()).toBe(30 * 60_000);
    expect(deadline(DEFAULT_SLA.urgent, 'resolve', t0).getTime() - t0.getTime()).toBe(4 * 3_600_000);
    expect(deadline(DEFAULT_SLA.normal, 'accept', t0).getTime() - t0.getTime()).toBe(2 * 3_600_000);
    expect(deadline(DEFAULT_SLA.normal, 'resolve', t0).getTime() - t0.getTime()).toBe(3 * 86_400_000);
  });

  it('shrink by the configured scale and halve the resolve time of a reopened case', () => {
    expect(deadline(DEFAULT_SLA.normal, 'accept', t0, { scale: 0.001 }).getTime() - t0.getTime()).toBe(7_200);
    expect(deadline(DEFAULT_SLA.normal, 'resolve', t0, { reopened: true }).getTime() - t0.getTime()).toBe(1.5 * 86_400_000);
    expect(deadline(DEFAULT_SLA.normal, 'accept', t0, { reopened: true }).getTime() - t0.getTime()).toBe(2 * 3_600_000);
  });

  it('remind at half and 80 % of the window, only in the future', () => {
    const due = new Date(t0.getTime() + 100_000);
    expect(reminderTimes(t0, due, t0).map((d) => d.getTime() - t0.getTime())).toEqual([50_000, 80_000]);
    expect(reminderTimes(t0, due, new Date(t0.getTime() + 60_000)).map((d) => d.getTime() - t0.getTime())).toEqual([80_000]);
    expect(reminderTimes(t0, t0, t0)).toEqual([]);
  });
});

describe('the escalation ladder', () => {
  it('climbs grid → community → street → county and stops there', () => {
    expect(nextLevel('grid')).toBe('community');
    expect(nextLevel('community')).toBe('street');
    expect(nextLevel('street')).toBe('county');
    expect(nextLevel('county')).toBeUndefined();
  });
});

describe('actions by status', () => {
  it('allows accepting only an assigned case and rating only a resolved one', () => {
    expect(allowed('accept', 'assigned')).toBe(true);
    expect(allowed('accept', 'accepted')).toBe(false);
    expect(allowed('rate', 'resolved')).toBe(true);
    expect(allowed('rate', 'accepted')).toBe(false);
    expect(allowed('resolve', 'closed')).toBe(false);
    expect(allowed('addInfo', 'resolved')).toBe(false);
  });

  it('reopens on 不满意 and closes otherwise; closes unrated cases after N days', () => {
    expect(ratingOutcome('unsatisfied')).toBe('reopen');
    expect(ratingOutcome('basically_satisfied')).toBe('close');
    expect(autoCloseDue(t0, 7, new Date(t0.getTime() + 7 * 86_400_000))).toBe(true);
    expect(autoCloseDue(t0, 7, new Date(t0.getTime() + 7 * 86_400_000 - 1))).toBe(false);
  });
});

describe('same problem nearby', () => {
  const open = { categoryId: 1, buildingId: 10, point: { lat: 43.72, lng: 127.34 }, at: t0, status: 'assigned' as const };
  const later = new Date(t0.getTime() + 86_400_000);

  it('measures distance on the sphere', () => {
    // 0.001° of latitude is about 111 m everywhere.
    expect(distanceMeters({ lat: 43.72, lng: 127.34 }, { lat: 43.721, lng: 127.34 })).toBeCloseTo(111.2, 0);
  });

  it('matches the same category in the same building or within 150 m, recently, while open', () => {
    expect(looksLikeSameProblem({ categoryId: 1, buildingId: 10, point: null, at: later }, open)).toBe(true);
    expect(looksLikeSameProblem({ categoryId: 1, buildingId: 11, point: { lat: 43.721, lng: 127.34 }, at: later }, open)).toBe(true);
    expect(looksLikeSameProblem({ categoryId: 1, buildingId: 11, point: { lat: 43.723, lng: 127.34 }, at: later }, open)).toBe(false);
    expect(looksLikeSameProblem({ categoryId: 2, buildingId: 10, point: null, at: later }, open)).toBe(false);
    expect(looksLikeSameProblem({ categoryId: 1, buildingId: 10, point: null, at: new Date(t0.getTime() + 8 * 86_400_000) }, open)).toBe(false);
    expect(looksLikeSameProblem({ categoryId: 1, buildingId: 10, point: null, at: later }, { ...open, status: 'resolved' })).toBe(false);
  });
});
