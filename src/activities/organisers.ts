import { and, eq } from 'drizzle-orm';
import { activities, activityOrganisers } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { checkScopes } from '../staff/scope.js';
import { ActivityError } from './errors.js';

/**
 * An activity's organiser: listed as one AND still reaching its community through a staff
 * assignment (src/staff/scope.ts), so a transfer or leave ends the access. Undecided is no.
 */
export async function mustOrganise(db: Queryable, activityId: string, personId: string): Promise<{ communityId: number }> {
  const [row] = await db
    .select({ communityId: activities.communityId })
    .from(activities)
    .innerJoin(activityOrganisers, and(eq(activityOrganisers.activityId, activities.id), eq(activityOrganisers.personId, personId)))
    .where(eq(activities.id, activityId));
  if (!row) throw new ActivityError('not_organiser');
  const reach = await checkScopes(db, personId, [row.communityId]);
  if (!reach.ok) throw new ActivityError('not_organiser');
  return row;
}

/** Adds an organiser (by another organiser). */
export async function addOrganiser(db: Queryable, activityId: string, by: string, personId: string): Promise<void> {
  await mustOrganise(db, activityId, by);
  await db.insert(activityOrganisers).values({ activityId, personId }).onConflictDoNothing();
}
