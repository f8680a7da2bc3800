import { describe, expect, it } from 'vitest';
import { areaUnits, checkChoices, decide, eligibility, mayClose, openingRefusal, reminderAt, type RuleConfig, type Tally } from '../../../src/consultations/rules.js';

const simple: RuleConfig = { rule: 'simple_majority', quorumPct: 50, majorityPct: 50, weighty: false };
const quorum: RuleConfig = { rule: 'quorum_majority', quorumPct: 50, majorityPct: 50, weighty: false };
const art278: RuleConfig = { rule: 'civil_code_278', quorumPct: 0, majorityPct: 50, weighty: false };
const weighty: RuleConfig = { ...art278, weighty: true };

/** Options as [count, area in m²]. */
const tally = (ballots: number, areaM2: number, options: [number, number][]): Tally => ({
  ballots,
  area: areaM2 * 100,
  options: options.map(([count, a]) => ({ count, area: a * 100 })),
});

describe('simple majority', () => {
  it('passes the option with more than half of the ballots cast', () => {
    // 40 ballots: 21 yes, 19 no → 21·2 = 42 > 40.
    const d = decide(simple, { voters: 100, area: 0 }, tally(40, 0, [[21, 0], [19, 0]]));
    expect(d).toMatchObject({ valid: true, passed: true, winners: [0], tie: false });
  });
  it('a tie passes nothing and says it is a tie', () => {
    const d = decide(simple, { voters: 100, area: 0 }, tally(40, 0, [[20, 0], [20, 0]]));
    expect(d).toMatchObject({ valid: true, passed: false, winners: [], tie: true });
  });
  it('exactly half is not a majority', () => {
    // 3 options, 10 ballots: 5 / 3 / 2 → 5·2 = 10, not > 10.
    const d = decide(simple, { voters: 10, area: 0 }, tally(10, 0, [[5, 0], [3, 0], [2, 0]]));
    expect(d).toMatchObject({ passed: false, tie: false });
  });
  it('zero turnout is no decision', () => {
    const d = decide(simple, { voters: 100, area: 0 }, tally(0, 0, [[0, 0], [0, 0]]));
    expect(d).toMatchObject({ valid: false, invalid: ['no_ballots'], passed: false, tie: false });
  });
  it('multiple choice: each option against the ballots cast, several can pass', () => {
    // 10 ballots choosing up to 2 of 3: 6 / 6 / 8 → all three over 5.
    const d = decide(simple, { voters: 10, area: 0 }, tally(10, 0, [[6, 0], [6, 0], [8, 0]]));
    expect(d.winners).toEqual([0, 1, 2]);
  });
});

describe('turnout quorum plus majority', () => {
  it('exactly the quorum is enough (≥)', () => {
    // 50 % of 80 = 40 ballots; 40·100 = 4000 ≥ 50·80 = 4000.
    const d = decide(quorum, { voters: 80, area: 0 }, tally(40, 0, [[30, 0], [10, 0]]));
    expect(d).toMatchObject({ valid: true, passed: true, winners: [0] });
  });
  it('one ballot under the quorum is not valid, whatever the ballots say', () => {
    const d = decide(quorum, { voters: 80, area: 0 }, tally(39, 0, [[39, 0], [0, 0]]));
    expect(d).toMatchObject({ valid: false, invalid: ['quorum'], passed: false, winners: [] });
  });
  it('a configurable majority: 2/3 needed (67 %), 66 of 100 fails, 67 passes', () => {
    const cfg = { ...quorum, quorumPct: 30, majorityPct: 66 };
    expect(decide(cfg, { voters: 200, area: 0 }, tally(100, 0, [[66, 0], [34, 0]])).passed).toBe(false);
    expect(decide(cfg, { voters: 200, area: 0 }, tally(100, 0, [[67, 0], [33, 0]])).passed).toBe(true);
  });
  it('zero eligible voters can never reach a quorum', () => {
    expect(decide(quorum, { voters: 0, area: 0 }, tally(0, 0, [[0, 0]])).invalid).toEqual(['no_ballots']);
  });
});

describe('Civil Code art. 278', () => {
  // 9 owners, 900 m² in all (100 m² each) unless a case says otherwise.
  const nine = { voters: 9, area: 900 * 100 };

  it('exactly 2/3 of the owners and of the area take part: valid', () => {
    // 6 of 9 owners (6·3 = 18 ≥ 9·2 = 18), 600 of 900 m² (1800 ≥ 1800); 4 agree with 400 m² > 300.
    const d = decide(art278, nine, tally(6, 600, [[4, 400], [2, 200]]));
    expect(d).toMatchObject({ valid: true, passed: true, winners: [0] });
  });
  it('just under 2/3 of the area: not valid although 2/3 of the owners took part', () => {
    // 6 owners but 599.99 m²: 59999·3 = 179997 < 90000·2 = 180000.
    const d = decide(art278, nine, { ballots: 6, area: 59999, options: [{ count: 6, area: 59999 }] });
    expect(d).toMatchObject({ valid: false, invalid: ['area_turnout'], passed: false });
  });
  it('just under 2/3 of the owners: not valid although 2/3 of the area took part', () => {
    // 5 owners holding 700 m²: area ok, owners 15 < 18.
    const d = decide(art278, nine, tally(5, 700, [[5, 700]]));
    expect(d).toMatchObject({ valid: false, invalid: ['owner_turnout'] });
  });
  it('needs more than half of BOTH participating area and owners', () => {
    // 6 took part (600 m²): 4 owners agree but hold only 300 m² (exactly half of 600): fails.
    expect(decide(art278, nine, tally(6, 600, [[4, 300], [2, 300]])).passed).toBe(false);
    // 3 owners (exactly half) holding 400 m²: fails on the head count.
    expect(decide(art278, nine, tally(6, 600, [[3, 400], [3, 200]])).passed).toBe(false);
  });
  it('weighty matters: exactly 3/4 of both passes, just under fails', () => {
    // 8 owners take part with 800 m²: 6 agree holding 600 m² → 6·4 = 24 ≥ 8·3 = 24, 2400 ≥ 2400.
    const nineBig = { voters: 9, area: 900 * 100 };
    expect(decide(weighty, nineBig, tally(8, 800, [[6, 600], [2, 200]]))).toMatchObject({ valid: true, passed: true, winners: [0] });
    // 599.99 m² of the 800: 59999·4 = 239996 < 80000·3 = 240000.
    expect(decide(weighty, nineBig, { ballots: 8, area: 80000, options: [{ count: 6, area: 59999 }, { count: 2, area: 20001 }] }).passed).toBe(false);
    // the same 6 of 8 would pass a normal matter easily.
    expect(decide(art278, nineBig, tally(8, 800, [[6, 600], [2, 200]])).passed).toBe(true);
  });
  it('a household with no floor area counts as an owner and weighs nothing', () => {
    // 3 owners; one home has no area recorded: eligible area 200 m². Two with area vote yes,
    // the one without area votes no: owners 2 of 3 (2·3 = 6 ≥ 3·2 = 6), area 200 of 200.
    const d = decide(art278, { voters: 3, area: 200 * 100 }, tally(3, 200, [[2, 200], [1, 0]]));
    expect(d).toMatchObject({ valid: true, passed: true, winners: [0] });
    expect(areaUnits(null)).toBe(0);
    expect(areaUnits('86.50')).toBe(8650);
  });
  it('a scope with no recorded area at all cannot apply the rule', () => {
    expect(decide(art278, { voters: 3, area: 0 }, tally(3, 0, [[3, 0]])).invalid).toEqual(['no_area']);
  });
  it('zero turnout is not valid and names every missing part', () => {
    expect(decide(art278, nine, tally(0, 0, [[0, 0], [0, 0]])).invalid).toEqual(['no_ballots', 'area_turnout', 'owner_turnout']);
  });
  it('a tie among owners passes nothing', () => {
    const d = decide(art278, { voters: 4, area: 400 * 100 }, tally(4, 400, [[2, 200], [2, 200]]));
    expect(d).toMatchObject({ valid: true, passed: false, tie: true });
  });
});

describe('ballot choices', () => {
  const multi = { optionCount: 4, multiple: true, maxChoices: 2 };
  it('multiple choice at its maximum is valid, one more is not', () => {
    expect(checkChoices([0, 3], multi)).toBe('ok');
    expect(checkChoices([0, 1, 3], multi)).toBe('too_many');
  });
  it('single choice takes one option', () => {
    expect(checkChoices([1], { optionCount: 2, multiple: false, maxChoices: 1 })).toBe('ok');
    expect(checkChoices([0, 1], { optionCount: 2, multiple: false, maxChoices: 1 })).toBe('too_many');
  });
  it('refuses nothing chosen, an unknown option and the same option twice', () => {
    expect(checkChoices([], multi)).toBe('none');
    expect(checkChoices([4], multi)).toBe('unknown_option');
    expect(checkChoices([1, 1], multi)).toBe('duplicate');
  });
});

describe('eligibility', () => {
  const base = { open: true, personId: 'p1', bound: true, householdId: 7, inScope: true, adult: true, owner: false } as const;
  it('adults vote as themselves, households and owners as their home', () => {
    expect(eligibility({ ...base, basis: 'adults' })).toEqual({ ok: true, voterKey: 'p:p1', householdId: 7 });
    expect(eligibility({ ...base, basis: 'households' })).toEqual({ ok: true, voterKey: 'h:7', householdId: 7 });
    expect(eligibility({ ...base, basis: 'owners', owner: true })).toEqual({ ok: true, voterKey: 'h:7', householdId: 7 });
  });
  it('says why not', () => {
    expect(eligibility({ ...base, basis: 'adults', adult: undefined })).toEqual({ ok: false, reason: 'ask_age' });
    expect(eligibility({ ...base, basis: 'adults', adult: false })).toEqual({ ok: false, reason: 'under_18' });
    expect(eligibility({ ...base, basis: 'owners' })).toEqual({ ok: false, reason: 'not_owner' });
    expect(eligibility({ ...base, basis: 'households', inScope: false })).toEqual({ ok: false, reason: 'outside_scope' });
    expect(eligibility({ ...base, basis: 'households', bound: false })).toEqual({ ok: false, reason: 'not_bound' });
    expect(eligibility({ ...base, basis: 'households', open: false })).toEqual({ ok: false, reason: 'not_open' });
  });
});

describe('closing and reminders', () => {
  const closesAt = new Date('2026-12-10T12:00:00Z');
  it('closes when due; early only where allowed', () => {
    expect(mayClose({ status: 'open', closesAt, earlyClose: false }, new Date('2026-12-10T12:00:00Z'))).toBe('due');
    expect(mayClose({ status: 'open', closesAt, earlyClose: false }, new Date('2026-12-09T12:00:00Z'))).toBe('not_allowed');
    expect(mayClose({ status: 'open', closesAt, earlyClose: true }, new Date('2026-12-09T12:00:00Z'))).toBe('early');
    expect(mayClose({ status: 'closed', closesAt, earlyClose: true }, new Date('2026-12-11T12:00:00Z'))).toBe('not_open');
  });
  it('reminds a day before closing, or halfway through a short vote', () => {
    expect(reminderAt(new Date('2026-12-01T12:00:00Z'), closesAt).toISOString()).toBe('2026-12-09T12:00:00.000Z');
    expect(reminderAt(new Date('2026-12-10T08:00:00Z'), closesAt).toISOString()).toBe('2026-12-10T10:00:00.000Z');
  });
});

describe('openingRefusal (定时开始)', () => {
  const now = new Date('2026-12-01T08:00:00Z');
  const closes = new Date('2026-12-10T10:00:00Z');
  it('takes an opening time after now and before closing', () => {
    expect(openingRefusal(now, new Date('2026-12-01T08:01:00Z'), closes)).toBeUndefined();
    expect(openingRefusal(now, new Date('2026-12-10T09:59:00Z'), closes)).toBeUndefined();
  });
  it('refuses an opening time that is now or has passed', () => {
    expect(openingRefusal(now, now, closes)).toBe('opens_in_past');
    expect(openingRefusal(now, new Date('2026-11-30T08:00:00Z'), closes)).toBe('opens_in_past');
  });
  it('refuses a vote that would close at or before it opens', () => {
    expect(openingRefusal(now, closes, closes)).toBe('closes_before_opens');
    expect(openingRefusal(now, new Date('2026-12-11T08:00:00Z'), closes)).toBe('closes_before_opens');
  });
});
