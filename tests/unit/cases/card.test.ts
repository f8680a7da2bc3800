import { describe, expect, it } from 'vitest';
import { mapLink, viewOf } from '../../../src/cases/card.js';
import { timelineLines, type TimelineEvent } from '../../../src/cases/timeline-view.js';
import { messages } from '../../../src/i18n/index.js';
import type { OrgUnit } from '../../../src/org/tree.js';
import { localDate, localDateTime } from '../../../src/org/time.js';

const zh = messages('zh-CN');
const unit = (id: number, kind: OrgUnit['kind'], name: string) => ({ id, kind, name }) as OrgUnit;
const chain = [unit(1, 'county', '蛟河市'), unit(2, 'street', '民主街道'), unit(3, 'community', '幸福社区'), unit(4, 'grid', '第一网格'), unit(5, 'building', '3号楼'), unit(6, 'unit', '2单元'), unit(7, 'household', '301')];
const base = { number: 'T-1', description: '漏水', locationLabel: null, lat: null, lng: null, reopenCount: 0, householdVerified: true };

describe('what a case card shows of the place', () => {
  it('shows the household without the levels staff know, the typed place, and a shared point with a map link', () => {
    expect(viewOf(base, undefined, chain).place(zh)).toBe('幸福社区 · 3号楼 · 2单元 · 301');
    expect(viewOf({ ...base, locationLabel: '楼上 502' }, undefined, chain).place(zh)).toBe('幸福社区 · 3号楼 · 2单元 · 301\n居民填写：楼上 502');
    const shared = viewOf({ ...base, lat: '43.7298', lng: '127.3497', locationLabel: '东门' }, undefined, []).place(zh);
    expect(shared).toBe(`东门\n位置：43.72980, 127.34970 ${mapLink(43.7298, 127.3497)}`);
    expect(mapLink(43.7298, 127.3497)).toBe('https://uri.amap.com/marker?position=127.349700,43.729800&coordinate=wgs84');
  });

  it('marks an unverified household and a reopened case', () => {
    const v = viewOf({ ...base, householdVerified: false, reopenCount: 1 }, undefined, chain);
    expect(v.place(zh)).toBe('幸福社区 · 3号楼 · 2单元 · 301（住户待核实）');
    expect(v.reopened).toBe(true);
  });
});

describe('dates in the community time zone', () => {
  it('formats in Asia/Shanghai whatever the server zone', () => {
    // 2026-11-22 16:30 UTC is 11-23 00:30 in China: the day changes.
    expect(localDateTime(new Date('2026-11-22T16:30:00Z'))).toBe('11-23 00:30');
    expect(localDate(new Date('2026-11-22T16:30:00Z'))).toBe('2026-11-23');
    expect(localDate(new Date('2026-11-22T16:30:00Z'), 'UTC')).toBe('2026-11-22');
  });
});

describe('the timeline in plain words', () => {
  const at = new Date('2026-11-22T02:00:00Z');
  const e = (kind: TimelineEvent['kind'], more: Partial<TimelineEvent> = {}): TimelineEvent => ({ kind, at, reason: null, level: 'grid', details: {}, ...more });
  const names = new Map([
    [3, '幸福社区'],
    [4, '第一网格'],
  ]);
  it('names who has it, the rating with its comment and 已办结（满意）', () => {
    const lines = timelineLines(
      zh,
      [
        e('submitted'),
        e('assigned', { level: 'community', details: { assigneeId: null, unitId: 3 } }),
        e('assigned', { level: 'grid', details: { assigneeId: 'p', unitId: 4 } }),
        e('resolved', { reason: '已修好' }),
        e('rated', { details: { rating: 'unsatisfied' } }),
        e('reopened'),
        e('commented', { reason: '还在滴水', details: { on: 'rating' } }),
        e('resolved', { reason: '换了水管' }),
        e('rated', { details: { rating: 'satisfied' } }),
        e('closed', { reason: 'rated', details: { rating: 'satisfied' } }),
      ],
      (id) => names.get(id),
    ).map((l) => l.slice('11-22 10:00 '.length));
    expect(lines).toEqual([
      '提交',
      '正在安排工作人员（幸福社区）',
      '已安排给第一网格网格员',
      '办结：已修好',
      '评价：不满意 — 还在滴水',
      '重办',
      '办结：换了水管',
      '评价：满意',
      '已办结（满意）',
    ]);
  });
});
