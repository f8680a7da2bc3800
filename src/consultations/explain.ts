import type { Messages } from '../i18n/index.js';
import type { ConsultationErrorReason, ConsultationError, ConsultationRow } from './commands.js';
import type { ConsultationResult } from './lifecycle.js';
import { formatArea } from './rules.js';
import { eligibleFor } from './tally.js';

/** Results and refusals in the reader's language: one plain sentence per rule. */

export const optionLines = (options: readonly string[]) => options.map((o, i) => `${i + 1}. ${o}`).join('\n');

export const choiceLabels = (c: Pick<ConsultationRow, 'options'>, choices: readonly number[]) => choices.map((i) => c.options[i] ?? `#${i + 1}`).join('、');

/** The result of a consultation in one sentence, for its rule. */
export function explainResult(m: Messages, c: Pick<ConsultationRow, 'rule' | 'basis' | 'options' | 'quorumPct' | 'majorityPct' | 'weighty'>, r: ConsultationResult): string {
  const t = m.consultations;
  const { tally, decision } = r;
  const eligible = eligibleFor(c.basis, r.eligible);
  const is278 = c.rule === 'civil_code_278';
  const rule = is278 ? t.rule278 : c.rule === 'quorum_majority' ? t.ruleQuorum : t.ruleSimple;
  if (decision.invalid.includes('no_ballots') && !is278) return t.explainNoBallots({ rule });
  const pct = eligible.voters ? ((tally.ballots * 100) / eligible.voters).toFixed(1) : '0';
  const turnout = is278
    ? t.turnout278({ ballots: tally.ballots, voters: eligible.voters, area: formatArea(tally.area), totalArea: formatArea(eligible.area) })
    : t.turnout({ ballots: tally.ballots, voters: eligible.voters, pct });
  if (!decision.valid) {
    if (!is278) return t.explainQuorumMissed({ rule, turnout, quorum: c.quorumPct });
    const missing = [
      decision.invalid.includes('no_area') ? `${t.missingNoArea}${t.missingArea}` : decision.invalid.includes('area_turnout') ? t.missingArea : '',
      decision.invalid.includes('owner_turnout') ? t.missingOwners : '',
    ].filter(Boolean);
    return t.explain278Missed({ rule, turnout, missing: missing.join(t.listSep) });
  }
  const count = (i: number) => (is278 ? t.optionCount278({ option: c.options[i]!, count: tally.options[i]!.count, area: formatArea(tally.options[i]!.area) }) : t.optionCount({ option: c.options[i]!, count: tally.options[i]!.count }));
  const threshold = is278 ? (c.weighty ? t.threshold278Weighty : t.threshold278) : c.rule === 'quorum_majority' && c.majorityPct !== 50 ? t.thresholdPct({ pct: c.majorityPct }) : t.thresholdHalf;
  const counts = c.options.map((_, i) => count(i)).join(t.listSep);
  if (decision.passed) return t.explainPassed({ rule, turnout, winners: decision.winners.map(count).join(t.listSep), threshold });
  if (decision.tie) return t.explainTie({ rule, turnout, counts });
  return t.explainNotPassed({ rule, turnout, counts, threshold });
}

const REASON_TEXT: Record<Exclude<ConsultationErrorReason, 'ineligible' | 'already_voted' | 'opens_in_past' | 'closes_before_opens'>, (t: Messages['consultations']) => string> = {
  not_staff: (t) => t.notStaff,
  on_leave: (t) => t.outsideArea,
  outside_area: (t) => t.outsideArea,
  no_such_unit: (t) => t.notFound,
  scope_kind: (t) => t.notInScope,
  not_found: (t) => t.notFound,
  status: (t) => t.wrongStatus,
  in_past: (t) => t.inPast,
  bad_choices: (t) => t.badChoices,
  not_changeable: (t) => t.notChangeable,
  paper_needs_household: (t) => t.paperNeedsHousehold,
  not_in_scope: (t) => t.notInScope,
  early_close_not_allowed: (t) => t.earlyCloseNotAllowed,
  frozen: (t) => t.frozen,
};

export const viaLabel = (t: Messages['consultations'], via: 'chat' | 'paper' | 'proxy') => (via === 'chat' ? t.viaChat : via === 'paper' ? t.viaPaper : t.viaProxy);

/** A refusal in the reader's language, with the reason a person is not eligible and how the household already voted. */
export function refusalText(m: Messages, err: ConsultationError): string {
  const t = m.consultations;
  if (err.reason === 'ineligible') return t[`ineligible_${err.detail.ineligible ?? 'not_open'}`];
  if (err.reason === 'already_voted') return t.alreadyVoted({ via: viaLabel(t, err.detail.via ?? 'chat') });
  // 定时开始's refusals are staff-only words (the consultation-staff catalogue).
  if (err.reason === 'opens_in_past' || err.reason === 'closes_before_opens') return m.consultationStaff[`refused_${err.reason}`];
  return REASON_TEXT[err.reason](t);
}
