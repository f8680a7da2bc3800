import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { audienceMemberships, orgUnits } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { addMembership, removeMembership } from '../audience/groups.js';
import { checkScopes, type ScopeRefusal } from '../staff/scope.js';

/**
 * 房屋登记: a household's floor area (专有部分面积, what Civil Code art. 278 votes weigh) and
 * whether it is an owner's home (业主). Both are kept by staff for the households they reach.
 * The owner flag is the 'owners' audience group on the home (src/audience/groups.ts), the same
 * row `notice group add owners` writes, so tallies, audiences and this record agree.
 */

/** m², as staff type it: at most two decimals (the column's scale), a flat's size, not a typo's. */
export const floorAreaM2 = z
  .string({ error: '--area takes the floor area in m², e.g. 89.5' })
  .trim()
  .regex(/^\d{1,5}(\.\d{1,2})?$/, '--area takes a positive floor area in m², e.g. 89.5 (at most two decimals)')
  .transform(Number)
  .pipe(z.number().min(5, '--area must be at least 5 m²').max(2000, '--area must be at most 2000 m²'));

export const householdRecordChange = z.object({ floorAreaM2: floorAreaM2.optional(), owner: z.boolean().optional() });
export type HouseholdRecordChange = z.infer<typeof householdRecordChange>;

export interface HouseholdRecord {
  householdId: number;
  /** '89.50', or null when none is recorded. */
  floorAreaM2: string | null;
  owner: boolean;
}

export type HouseholdRecordRefusal = ScopeRefusal | 'not_household';

/** Why staff may not read or change this household's record. */
export class HouseholdRecordError extends Error {
  constructor(readonly reason: HouseholdRecordRefusal) {
    super(`household record: ${reason}`);
  }
}

/**
 * The record of one unit, if it is a household (null when it is not, or does not exist). `lock`
 * holds the row until the transaction ends, so a change's "before" is what it replaced.
 */
async function readRecord(db: Queryable, unitId: number, lock = false): Promise<HouseholdRecord | null> {
  const unit = db.select({ kind: orgUnits.kind, floorAreaM2: orgUnits.floorAreaM2 }).from(orgUnits).where(eq(orgUnits.id, unitId));
  const [row] = lock ? await unit.for('update') : await unit;
  if (row?.kind !== 'household') return null;
  const owners = await db
    .select({ id: audienceMemberships.id })
    .from(audienceMemberships)
    .where(and(eq(audienceMemberships.group, 'owners'), eq(audienceMemberships.householdId, unitId)));
  return { householdId: unitId, floorAreaM2: row.floorAreaM2, owner: owners.length > 0 };
}

/** The household, checked: it is one, and `actorId` reaches it (role × area, src/staff/scope.ts). */
async function reachableRecord(db: Queryable, actorId: string, unitId: number, lock = false): Promise<HouseholdRecord> {
  const record = await readRecord(db, unitId, lock);
  if (!record) throw new HouseholdRecordError('not_household');
  const reach = await checkScopes(db, actorId, [unitId]);
  if (!reach.ok) throw new HouseholdRecordError(reach.reason === 'no_such_unit' ? 'not_household' : reach.reason);
  return record;
}

/** A household's record as staff who reach it see it; the look is audited like other staff views. */
export async function showHouseholdRecord(tx: Tx, actorId: string, unitId: number): Promise<HouseholdRecord> {
  const record = await reachableRecord(tx, actorId, unitId);
  await recordAudit(tx, { actorId, action: 'household.view_record', subjectType: 'household', subjectId: String(unitId) });
  return record;
}

/**
 * Sets a household's floor area and/or owner flag. Refused (nothing written) unless `actorId`
 * reaches it. The audit row holds the record before and after; an unchanged record writes none.
 */
export async function setHouseholdRecord(
  tx: Tx,
  actorId: string,
  unitId: number,
  change: HouseholdRecordChange,
): Promise<{ before: HouseholdRecord; after: HouseholdRecord; changed: boolean }> {
  const before = await reachableRecord(tx, actorId, unitId, true);
  const area = change.floorAreaM2 === undefined ? before.floorAreaM2 : change.floorAreaM2.toFixed(2);
  if (area !== before.floorAreaM2) await tx.update(orgUnits).set({ floorAreaM2: area }).where(eq(orgUnits.id, unitId));
  if (change.owner !== undefined && change.owner !== before.owner) {
    const home = { householdId: unitId };
    if (change.owner) await addMembership(tx, 'owners', home, { personId: actorId, source: 'staff' });
    else await removeMembership(tx, 'owners', home, { source: 'staff' });
  }
  const after: HouseholdRecord = { householdId: unitId, floorAreaM2: area, owner: change.owner ?? before.owner };
  const changed = after.floorAreaM2 !== before.floorAreaM2 || after.owner !== before.owner;
  if (changed) {
    await recordAudit(tx, {
      actorId,
      action: 'household.record_set',
      subjectType: 'household',
      subjectId: String(unitId),
      details: { before: { floorAreaM2: before.floorAreaM2, owner: before.owner }, after: { floorAreaM2: after.floorAreaM2, owner: after.owner } },
    });
  }
  return { before, after, changed };
}
