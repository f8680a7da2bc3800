import { describe, expect, it } from 'vitest';
import { fits, maxHours, monthKey, nextDue, parseSkills, visitedInPeriod } from '../../../src/volunteers/rules.js';

describe('volunteer rules', () => {
  it('fits a task that asks for no skill or one the volunteer has', () => {
    expect(fits([], ['理发'])).toBe(true);
    expect(fits(['理发', '维修'], ['维修'])).toBe(true);
    expect(fits(['First aid'], ['first aid '])).toBe(true);
    expect(fits(['理发'], ['陪伴'])).toBe(false);
  });

  it('caps confirmed hours at the task’s length rounded up to the half hour', () => {
    expect(maxHours(new Date('2026-12-01T01:00:00Z'), new Date('2026-12-01T03:10:00Z'))).toBe(2.5);
    expect(maxHours(new Date('2026-12-01T00:00:00Z'), new Date('2026-12-03T00:00:00Z'))).toBe(24);
  });

  it('reads skills typed with Chinese or Latin separators', () => {
    expect(parseSkills('陪伴, 理发；维修、陪伴')).toEqual(['陪伴', '理发', '维修']);
  });

  it('names the local month', () => {
    expect(monthKey(new Date('2026-11-30T17:00:00Z'), 'Asia/Shanghai')).toBe('2026-12');
    expect(monthKey(new Date('2026-11-30T15:00:00Z'), 'Asia/Shanghai')).toBe('2026-11');
  });

  it('counts a visit only inside its period', () => {
    const due = new Date('2026-12-08T00:00:00Z');
    expect(visitedInPeriod([new Date('2026-12-05T00:00:00Z')], due, 7)).toBe(true);
    expect(visitedInPeriod([new Date('2026-11-30T00:00:00Z')], due, 7)).toBe(false);
    expect(visitedInPeriod([], due, 7)).toBe(false);
    expect(nextDue(due, 7).toISOString()).toBe('2026-12-15T00:00:00.000Z');
  });
});
