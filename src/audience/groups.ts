import { and, eq, or, sql } from 'drizzle-orm';
import { audienceGroup, audienceMemberships } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import type { AudienceGroup } from './audience.js';

export const AUDIENCE_GROUPS = audienceGroup.enumValues;

/**
 * Groups a resident may say they belong to themselves (age, children at school, volunteering).
 * 业主 and 党员 are records the community keeps (the property register, the party branch), so
 * only staff set them.
 */
export const SELF_DECLARABLE: readonly AudienceGroup[] = ['elderly', 'school_parents', 'volunteers'];

export const maySelfDeclare = (group: AudienceGroup) => SELF_DECLARABLE.includes(group);

export type MembershipSubject = { personId: string } | { householdId: number };

/** Records a membership (idempotent: a second add changes nothing). Returns whether it was new. */
export async function addMembership(
  tx: Tx,
  group: AudienceGroup,
  subject: MembershipSubject,
  by: { personId: string; source: 'staff' | 'self' },
): Promise<boolean> {
  if (by.source === 'self' && !maySelfDeclare(group)) throw new Error(`group ${group} is kept by staff`);
  const rows = await tx
    .insert(audienceMemberships)
    .values({ group, ...('personId' in subject ? { personId: subject.personId } : { householdId: subject.householdId }), source: by.source, addedBy: by.personId })
    .onConflictDoNothing()
    .returning({ id: audienceMemberships.id });
  return rows.length > 0;
}

/**
 * Removes a membership. A resident removes only what they declared themselves; staff remove any.
 * Returns whether a row went.
 */
export async function removeMembership(tx: Tx, group: AudienceGroup, subject: MembershipSubject, by: { source: 'staff' | 'self' }): Promise<boolean> {
  const rows = await tx
    .delete(audienceMemberships)
    .where(
      and(
        eq(audienceMemberships.group, group),
        'personId' in subject ? eq(audienceMemberships.personId, subject.personId) : eq(audienceMemberships.householdId, subject.householdId),
        by.source === 'self' ? eq(audienceMemberships.source, 'self') : undefined,
      ),
    )
    .returning({ id: audienceMemberships.id });
  return rows.length > 0;
}

/** The groups a person is in, on themselves or through their household, and who set each. */
export async function groupsOf(db: Queryable, person: { id: string; householdId: number | null }): Promise<{ group: AudienceGroup; source: 'staff' | 'self'; viaHousehold: boolean }[]> {
  const rows = await db
    .select({ group: audienceMemberships.group, source: audienceMemberships.source, householdId: audienceMemberships.householdId })
    .from(audienceMemberships)
    .where(
      or(eq(audienceMemberships.personId, person.id), person.householdId === null ? sql`false` : eq(audienceMemberships.householdId, person.householdId)),
    );
  return rows.map((r) => ({ group: r.group, source: r.source, viaHousehold: r.householdId !== null }));
}
