import { describe, expect, it } from 'vitest';
import { leadsOf } from '../../../jobs/producer.js';
import type { QueuedMessage } from '../../../src/outbox/outbox.js';

const at = new Date('2026-12-08T08:00:00+08:00');
const rows = (n: number, over: Partial<QueuedMessage> = {}, from = 1): QueuedMessage[] =>
  Array.from({ length: n }, (_, i) => ({ outboxId: from + i, channel: 'web', priority: 'broadcast', ...over }));

describe('one deliver job per batch of broadcast rows (leadsOf)', () => {
  it('keeps every (companions + 1)-th broadcast row of a channel, starting with the first', () => {
    expect(leadsOf(rows(10), { web: 3 }).map((m) => m.outboxId)).toEqual([1, 5, 9]);
    expect(leadsOf(rows(4), { web: 3 }).map((m) => m.outboxId)).toEqual([1]);
    expect(leadsOf(rows(1), { web: 31 }).map((m) => m.outboxId)).toEqual([1]);
  });

  it('gives every reply its own job, and every row of a channel that takes nothing along', () => {
    const replies = rows(3, { priority: undefined });
    expect(leadsOf(replies, { web: 3 })).toEqual(replies);
    expect(leadsOf(rows(3, { channel: 'telegram' }), { web: 3, telegram: 0 })).toHaveLength(3);
    expect(leadsOf(rows(3), undefined)).toHaveLength(3);
  });

  it('counts each channel, class and hold on its own: a lead only takes rows due with it', () => {
    const mixed = [...rows(3), ...rows(3, { priority: 'emergency' }, 10), ...rows(3, { notBefore: at }, 20), ...rows(3, { channel: 'telegram' }, 30)];
    expect(leadsOf(mixed, { web: 2, telegram: 2 }).map((m) => m.outboxId)).toEqual([1, 10, 20, 30]);
  });
});
