import type { ScopeRefusal } from '../staff/scope.js';

export type VolunteerErrorReason = ScopeRefusal | 'no_such_unit' | 'not_community' | 'no_profile' | 'not_found' | 'full' | 'started' | 'not_signed_up' | 'too_many_hours' | 'not_organiser' | 'not_assigned';

export class VolunteerError extends Error {
  constructor(readonly reason: VolunteerErrorReason) {
    super(`volunteer refused: ${reason}`);
  }
}
