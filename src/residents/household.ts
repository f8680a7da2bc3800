import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { householdClaims, householdInvites, orgUnits, people, staffAssignments } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { hashCode, normaliseCode } from '../staff/codes.js';
import type { StaffRole } from '../staff/codes.js';
import { getUnit, isWithin, lineage, type OrgUnit } from '../org/tree.js';

/** 住户绑定: by invite code (immediate) or by claim (pending until staff confirm). */

export class InviteInvalid extends Error {
  constructor() {
    super('invite code invalid, expired, revoked or used up');
  }
}
export class ClaimAlreadyPending extends Error {}
export class ClaimAlreadyDecided extends Error {}
export class NotYourArea extends Error {}

/** "民主街道 · 幸福社区 · 3号楼 · 2单元 · 302": the place as a resident recognises it (no county, no grid). */
export async function placeLabel(db: Queryable, householdId: number): Promise<string> {
  const unit = await getUnit(db, householdId);
  if (!unit) return '';
  return (await lineage(db, unit))
    .filter((u) => u.kind !== 'county' && u.kind !== 'grid')
    .map((u) => u.name)
    .join(' · ');
}

/**
 * Redeems a household invite code: binds the person at once. The uses counter is raised by a
 * guarded UPDATE, so two family members racing for the last use can't both get it.
 */
export async function redeemInvite(tx: Tx, personId: string, typed: string, key: string, now = new Date()): Promise<{ householdId: number }> {
  const code = normaliseCode(typed);
  if (!/^H[0-9A-Z]{8}$/.test(code)) throw new InviteInvalid();
  const [invite] = await tx
    .update(householdInvites)
    .set({ uses: sql`${householdInvites.uses} + 1` })
    .where(
      and(
        eq(householdInvites.codeHash, hashCode(code, key)),
        isNull(householdInvites.revokedAt),
        lt(householdInvites.uses, householdInvites.maxUses),
        or(isNull(householdInvites.expiresAt), gt(householdInvites.expiresAt, now)),
      ),
    )
    .returning({ householdId: householdInvites.householdId });
  if (!invite) throw new InviteInvalid();
  await tx
    .update(householdClaims)
    .set({ status: 'cancelled', decidedAt: now })
    .where(and(eq(householdClaims.personId, personId), eq(householdClaims.status, 'pending')));
  await tx.update(people).set({ householdId: invite.householdId, householdStatus: 'bound' }).where(eq(people.id, personId));
  return invite;
}

/** Roles that may confirm a household claim, nearest first. */
const APPROVER_ROLES: StaffRole[] = ['grid_worker', 'building_head', 'community_secretary', 'community_director'];

/** Staff who may confirm a claim for this household: the grid's workers and building heads, else the community. */
export async function claimApprovers(db: Queryable, household: OrgUnit): Promise<string[]> {
  const rows = await db
    .select({ personId: staffAssignments.personId, role: staffAssignments.role, kind: orgUnits.kind })
    .from(staffAssignments)
    .innerJoin(orgUnits, eq(orgUnits.id, staffAssignments.orgUnitId))
    .where(
      and(
        eq(staffAssignments.active, true),
        eq(staffAssignments.onLeave, false),
        inArray(staffAssignments.role, APPROVER_ROLES),
        sql`${household.path} like ${orgUnits.path} || '%'`,
      ),
    );
  const near = rows.filter((r) => r.role === 'grid_worker' || r.role === 'building_head');
  const chosen = near.length ? near : rows;
  return [...new Set(chosen.map((r) => r.personId))];
}

/** Files a claim (one pending per person, enforced by a partial unique index). */
export async function fileClaim(tx: Tx, personId: string, householdId: number): Promise<{ claimId: number; household: OrgUnit }> {
  const household = await getUnit(tx, householdId);
  if (!household || household.kind !== 'household') throw new Error(`unit ${householdId} is not a household`);
  const [claim] = await tx
    .insert(householdClaims)
    .values({ personId, householdId })
    .onConflictDoNothing()
    .returning({ id: householdClaims.id });
  if (!claim) throw new ClaimAlreadyPending();
  await tx.update(people).set({ householdStatus: 'pending' }).where(and(eq(people.id, personId), sql`${people.householdStatus} <> 'bound'`));
  return { claimId: claim.id, household };
}

/**
 * A staff member approves or rejects a claim. Only staff whose area contains the household may;
 * the second press of a button finds the claim decided and changes nothing.
 */
export async function decideClaim(
  tx: Tx,
  opts: { claimId: number; staffId: string; staffUnitIds: number[]; approve: boolean; now?: Date },
): Promise<{ personId: string; householdId: number }> {
  const [claim] = await tx.select().from(householdClaims).where(eq(householdClaims.id, opts.claimId)).for('update');
  if (!claim) throw new ClaimAlreadyDecided();
  const household = await getUnit(tx, claim.householdId);
  const scopes = opts.staffUnitIds.length
    ? await tx.select({ path: orgUnits.path }).from(orgUnits).where(inArray(orgUnits.id, opts.staffUnitIds))
    : [];
  if (!household || !scopes.some((s) => isWithin(household.path, s.path))) throw new NotYourArea();
  if (claim.status !== 'pending') throw new ClaimAlreadyDecided();
  const now = opts.now ?? new Date();
  await tx
    .update(householdClaims)
    .set({ status: opts.approve ? 'approved' : 'rejected', decidedBy: opts.staffId, decidedAt: now })
    .where(eq(householdClaims.id, claim.id));
  await tx
    .update(people)
    .set(opts.approve ? { householdId: claim.householdId, householdStatus: 'bound' } : { householdStatus: 'none' })
    .where(and(eq(people.id, claim.personId), sql`${people.householdStatus} = 'pending'`));
  return { personId: claim.personId, householdId: claim.householdId };
}
