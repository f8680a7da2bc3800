import type { Queryable } from '../../db/client.js';
import { checkScopes } from '../staff/scope.js';
import { VolunteerError } from './errors.js';

/** Staff who organise volunteers in a community must reach it (src/staff/scope.ts). */
export async function mustReach(db: Queryable, staffId: string, communityId: number): Promise<void> {
  const reach = await checkScopes(db, staffId, [communityId]);
  if (!reach.ok) throw new VolunteerError(reach.reason);
}
