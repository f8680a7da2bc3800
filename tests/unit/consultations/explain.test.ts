import { describe, expect, it } from 'vitest';
import { explainResult } from '../../../src/consultations/explain.js';
import { decide, type Eligible, type Tally } from '../../../src/consultations/rules.js';
import { messages } from '../../../src/i18n/index.js';

const base = { options: ['同意', '不同意'], quorumPct: 50, majorityPct: 50, weighty: false };
const snap = (voters: number, area: number) => ({ people: voters, households: voters, owners: voters, area });
const result = (c: typeof base & { rule: 'simple_majority' | 'quorum_majority' | 'civil_code_278'; basis: 'households' | 'owners' }, e: Eligible, tally: Tally) => ({
  eligible: snap(e.voters, e.area),
  tally,
  decision: decide(c, e, tally),
});

describe('the result in one plain sentence per rule, in each language', () => {
  const simple = { ...base, rule: 'simple_majority' as const, basis: 'households' as const };
  const quorum = { ...base, rule: 'quorum_majority' as const, basis: 'households' as const };
  const art278 = { ...base, rule: 'civil_code_278' as const, basis: 'owners' as const };
  const passed: Tally = { ballots: 10, area: 0, options: [{ count: 7, area: 0 }, { count: 3, area: 0 }] };

  it('simple majority', () => {
    const r = result(simple, { voters: 20, area: 0 }, passed);
    expect(explainResult(messages('zh-CN'), simple, r)).toBe('按简单多数规则：参与 10/20（50.0%）；「同意」7 票，超过投票数的一半，获得通过。');
    expect(explainResult(messages('ko'), simple, r)).toBe('단순 다수결 규칙: 참여 10/20 (50.0%); 「同意」 7표, 투표수의 과반 충족으로 통과되었습니다.');
    expect(explainResult(messages('en'), simple, r)).toBe('Under simple majority: turnout 10/20 (50.0%); “同意” 7, more than half of the ballots, so it passed.');
  });
  it('quorum missed', () => {
    const r = result(quorum, { voters: 30, area: 0 }, passed);
    expect(explainResult(messages('zh-CN'), quorum, r)).toBe('按参与率加多数规则：参与 10/30（33.3%），未达到 50% 的参与要求，表决无效。');
    expect(explainResult(messages('en'), quorum, r)).toBe('Under turnout quorum and majority: turnout 10/30 (33.3%), short of the 50% required, so the vote is not valid.');
    expect(explainResult(messages('ko'), quorum, r)).toContain('참여 요건 50%에 미달');
  });
  it('art. 278: participation short of two thirds, and a pass', () => {
    const short = result(art278, { voters: 9, area: 90000 }, { ballots: 5, area: 70000, options: [{ count: 5, area: 70000 }, { count: 0, area: 0 }] });
    expect(explainResult(messages('zh-CN'), art278, short)).toBe('按《民法典》第二百七十八条：参与业主 5/9 户、专有面积 700/900 m²，参与人数未达到三分之二，表决无效。');
    expect(explainResult(messages('en'), art278, short)).toBe('Under Civil Code art. 278: owners taking part 5/9, floor area 700/900 m²; the owners taking part are short of two thirds, so the vote is not valid.');
    const ok = result(art278, { voters: 9, area: 90000 }, { ballots: 6, area: 60000, options: [{ count: 4, area: 40000 }, { count: 2, area: 20000 }] });
    expect(explainResult(messages('ko'), art278, ok)).toBe('《민법전》 제278조 규칙: 참여 소유자 6/9세대, 전용면적 600/900 m²; 「同意」 4세대, 400 m², 참여 면적과 참여 인원의 과반 충족으로 통과되었습니다.');
  });
  it('zero turnout and a tie', () => {
    const none = result(simple, { voters: 20, area: 0 }, { ballots: 0, area: 0, options: [{ count: 0, area: 0 }, { count: 0, area: 0 }] });
    expect(explainResult(messages('zh-CN'), simple, none)).toBe('按简单多数规则：无人投票，没有形成决定。');
    const tie = result(simple, { voters: 20, area: 0 }, { ballots: 4, area: 0, options: [{ count: 2, area: 0 }, { count: 2, area: 0 }] });
    expect(explainResult(messages('en'), simple, tie)).toBe('Under simple majority: turnout 4/20 (20.0%); “同意” 2, “不同意” 2, a tie, so nothing passed.');
  });
});
