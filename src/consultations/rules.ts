/**
 * 社区协商 decision rules, pure: what counts as a valid ballot, who may vote, and whether a
 * consultation passed under its rule. Areas are whole hundredths of a m² (integers), and every
 * threshold is compared by cross-multiplying, so "exactly 2/3" is exact, never a float.
 */

export const BASES = ['adults', 'households', 'owners'] as const;
export type Basis = (typeof BASES)[number];
export const RULES = ['simple_majority', 'quorum_majority', 'civil_code_278'] as const;
export type Rule = (typeof RULES)[number];

export interface RuleConfig {
  rule: Rule;
  /** quorum_majority: turnout needed, percent of eligible voters (≥). */
  quorumPct: number;
  /** quorum_majority: an option passes with more than this percent of ballots cast. */
  majorityPct: number;
  /** civil_code_278: 重大事项 (maintenance fund, rebuilding, common parts) need ≥ 3/4 of both. */
  weighty: boolean;
}

/** The denominator, taken when the consultation opened: voters (people, households or owners) and their area. */
export interface Eligible {
  voters: number;
  /** 0.01 m². */
  area: number;
}

/** Counted ballots (the latest of each voter): how many, their area, and per option. */
export interface Tally {
  ballots: number;
  area: number;
  options: { count: number; area: number }[];
}

export type InvalidReason = 'no_ballots' | 'quorum' | 'area_turnout' | 'owner_turnout' | 'no_area';

export interface Decision {
  rule: Rule;
  /** Quorum / participation met (always true for a simple majority with ballots). */
  valid: boolean;
  invalid: InvalidReason[];
  /** Options that reached the rule's majority (indexes). */
  winners: number[];
  passed: boolean;
  /** No winner and the most supported options are level. */
  tie: boolean;
}

/** Whether a set of choices is a valid ballot for the consultation. */
export function checkChoices(choices: readonly number[], c: { optionCount: number; multiple: boolean; maxChoices: number }): 'ok' | 'none' | 'unknown_option' | 'duplicate' | 'too_many' {
  if (choices.length === 0) return 'none';
  if (choices.some((i) => !Number.isInteger(i) || i < 0 || i >= c.optionCount)) return 'unknown_option';
  if (new Set(choices).size !== choices.length) return 'duplicate';
  if (choices.length > (c.multiple ? c.maxChoices : 1)) return 'too_many';
  return 'ok';
}

/** Choices in a canonical order (what the chain hashes and the tally reads). */
export const canonicalChoices = (choices: readonly number[]) => [...choices].sort((a, b) => a - b);

function leveled(t: Tally): boolean {
  const top = Math.max(0, ...t.options.map((o) => o.count));
  return top > 0 && t.options.filter((o) => o.count === top).length > 1;
}

/** Applies the consultation's rule to its tally. */
export function decide(cfg: RuleConfig, eligible: Eligible, t: Tally): Decision {
  const invalid: InvalidReason[] = [];
  let wins: (o: { count: number; area: number }) => boolean;
  switch (cfg.rule) {
    case 'simple_majority':
      if (t.ballots === 0) invalid.push('no_ballots');
      wins = (o) => o.count * 2 > t.ballots;
      break;
    case 'quorum_majority':
      if (t.ballots === 0) invalid.push('no_ballots');
      else if (eligible.voters === 0 || t.ballots * 100 < cfg.quorumPct * eligible.voters) invalid.push('quorum');
      wins = (o) => o.count * 100 > cfg.majorityPct * t.ballots;
      break;
    case 'civil_code_278':
      // 民法典第二百七十八条: 专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决.
      if (t.ballots === 0) invalid.push('no_ballots');
      if (eligible.area === 0) invalid.push('no_area');
      else if (t.area * 3 < eligible.area * 2) invalid.push('area_turnout');
      if (eligible.voters === 0 || t.ballots * 3 < eligible.voters * 2) invalid.push('owner_turnout');
      // 经参与表决专有部分面积过半数且参与表决人数过半数的业主同意; 重大事项 四分之三以上.
      wins = cfg.weighty ? (o) => o.area * 4 >= t.area * 3 && o.count * 4 >= t.ballots * 3 && o.count > 0 : (o) => o.area * 2 > t.area && o.count * 2 > t.ballots;
      break;
  }
  const valid = invalid.length === 0;
  const winners = valid ? t.options.flatMap((o, i) => (wins(o) ? [i] : [])) : [];
  return { rule: cfg.rule, valid, invalid, winners, passed: winners.length > 0, tie: valid && winners.length === 0 && leveled(t) };
}

export type Ineligible = 'not_open' | 'not_bound' | 'outside_scope' | 'ask_age' | 'under_18' | 'not_owner';

/**
 * Who a person votes as, or why they may not: bound to a household in scope (and, for adults,
 * having said they are 18 or over; for owners, their home an owned one). Adults vote as
 * themselves, households and owners as their home.
 */
export function eligibility(p: {
  basis: Basis;
  open: boolean;
  personId: string;
  bound: boolean;
  householdId: number | null;
  inScope: boolean;
  adult: boolean | undefined;
  owner: boolean;
}): { ok: true; voterKey: string; householdId: number } | { ok: false; reason: Ineligible } {
  if (!p.open) return { ok: false, reason: 'not_open' };
  if (!p.bound || p.householdId === null) return { ok: false, reason: 'not_bound' };
  if (!p.inScope) return { ok: false, reason: 'outside_scope' };
  if (p.basis === 'adults') {
    if (p.adult === undefined) return { ok: false, reason: 'ask_age' };
    if (!p.adult) return { ok: false, reason: 'under_18' };
    return { ok: true, voterKey: `p:${p.personId}`, householdId: p.householdId };
  }
  if (p.basis === 'owners' && !p.owner) return { ok: false, reason: 'not_owner' };
  return { ok: true, voterKey: `h:${p.householdId}`, householdId: p.householdId };
}

/** m² (as stored, e.g. "86.50") → 0.01 m²; a home with no recorded area weighs 0. */
export function areaUnits(m2: string | number | null | undefined): number {
  if (m2 === null || m2 === undefined || m2 === '') return 0;
  return Math.round(Number(m2) * 100);
}

/** 0.01 m² → "86.5". */
export const formatArea = (units: number) => String(units / 100);

/** Where closing stands: the closing time came, or staff may close early (with a reason) where the vote allows it. */
export function mayClose(c: { status: string; closesAt: Date; earlyClose: boolean }, now: Date): 'due' | 'early' | 'not_allowed' | 'not_open' {
  if (c.status !== 'open') return 'not_open';
  if (now.getTime() >= c.closesAt.getTime()) return 'due';
  return c.earlyClose ? 'early' : 'not_allowed';
}

/** When the "not voted yet" reminder goes: a day before closing, or halfway for a vote shorter than two days. */
export function reminderAt(openedAt: Date, closesAt: Date): Date {
  const span = closesAt.getTime() - openedAt.getTime();
  return new Date(closesAt.getTime() - Math.min(24 * 3600_000, span / 2));
}

/** 定时开始: why a vote may not be set to open at `opensAt` — that time has passed, or it closes first — else undefined. */
export function openingRefusal(now: Date, opensAt: Date, closesAt: Date): 'opens_in_past' | 'closes_before_opens' | undefined {
  if (opensAt.getTime() <= now.getTime()) return 'opens_in_past';
  if (closesAt.getTime() <= opensAt.getTime()) return 'closes_before_opens';
  return undefined;
}
