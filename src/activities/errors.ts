import type { ScopeRefusal } from '../staff/scope.js';
import type { SignupWindowProblem } from './rules.js';

export type ActivityErrorReason =
  | ScopeRefusal
  | SignupWindowProblem
  | 'no_such_unit'
  | 'not_community'
  | 'not_found'
  | 'not_yet'
  | 'closed'
  | 'already_signed_up'
  | 'not_household'
  | 'child_required'
  | 'no_offer'
  | 'wrong_code'
  | 'checkin_closed'
  | 'not_signed_up'
  | 'may_not_rate'
  | 'not_organiser'
  | 'outside_scope';

/** A refusal the person can act on (mapped to their language at the edge). */
export class ActivityError extends Error {
  constructor(readonly reason: ActivityErrorReason) {
    super(`activity refused: ${reason}`);
  }
}
