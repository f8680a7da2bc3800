import { and, eq } from 'drizzle-orm';
import { orgUnits, staffAssignments } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import { isWithin, ORG_KINDS, type OrgKind } from '../org/tree.js';
import type { StaffRole } from './codes.js';

/**
 * 工作范围 (staff scope): may this person, through one of their staff assignments, act on an org
 * unit? One answer for the notice flows, the CLI and the coming console. A role reaches its own
 * unit and everything under it — 网格员 their grid, 楼栋长 their building, community staff their
 * community, a street its communities, a county all of it — and nothing else; undecided is no.
 */

/** The unit kind each role is assigned at; an assignment above it (a grid worker on a street) reaches nothing. */
export const ROLE_LEVEL: Record<StaffRole, OrgKind | 'any'> = {
  grid_worker: 'grid',
  building_head: 'building',
  community_secretary: 'community',
  community_director: 'community',
  subcommittee_member: 'community',
  street_official: 'street',
  county_official: 'county',
  admin: 'any',
};

export interface ScopeUnit {
  id: number;
  kind: OrgKind;
  path: string;
}

export interface ScopedAssignment {
  id: number;
  role: StaffRole;
  onLeave: boolean;
  unit: ScopeUnit;
}

/** Why a staff member may not act on a unit: shown to them in their language. */
export type ScopeRefusal = 'not_staff' | 'on_leave' | 'outside_area';

export type ScopeDecision = { ok: true; assignment: ScopedAssignment } | { ok: false; reason: ScopeRefusal };

const depth = (kind: OrgKind) => ORG_KINDS.indexOf(kind);

/** Whether one assignment reaches the target unit (pure). */
export function reaches(a: ScopedAssignment, target: ScopeUnit): boolean {
  const level = ROLE_LEVEL[a.role];
  if (level !== 'any' && depth(a.unit.kind) < depth(level)) return false;
  return isWithin(target.path, a.unit.path);
}

/**
 * The assignment that lets a person act on `target`, or why none does. An assignment on leave
 * counts only when no other reaches (so the refusal says "on leave", not "outside your area").
 */
export function decideScope(assignments: readonly ScopedAssignment[], target: ScopeUnit): ScopeDecision {
  if (assignments.length === 0) return { ok: false, reason: 'not_staff' };
  const reaching = assignments.filter((a) => reaches(a, target));
  const active = reaching.find((a) => !a.onLeave);
  if (active) return { ok: true, assignment: active };
  return { ok: false, reason: reaching.length ? 'on_leave' : 'outside_area' };
}

/** A person's active staff assignments with their units' paths. */
export async function scopedAssignments(db: Queryable, personId: string): Promise<ScopedAssignment[]> {
  const rows = await db
    .select({ id: staffAssignments.id, role: staffAssignments.role, onLeave: staffAssignments.onLeave, unitId: orgUnits.id, kind: orgUnits.kind, path: orgUnits.path })
    .from(staffAssignments)
    .innerJoin(orgUnits, eq(orgUnits.id, staffAssignments.orgUnitId))
    .where(and(eq(staffAssignments.personId, personId), eq(staffAssignments.active, true)));
  return rows.map((r) => ({ id: r.id, role: r.role, onLeave: r.onLeave, unit: { id: r.unitId, kind: r.kind, path: r.path } }));
}

/** decideScope for several units at once: the first refusal with its unit, else ok. */
export async function checkScopes(
  db: Queryable,
  personId: string,
  unitIds: readonly number[],
): Promise<{ ok: true } | { ok: false; reason: ScopeRefusal | 'no_such_unit'; unitId: number }> {
  const [assignments, units] = await Promise.all([
    scopedAssignments(db, personId),
    db.select({ id: orgUnits.id, kind: orgUnits.kind, path: orgUnits.path }).from(orgUnits).where(anyOf(orgUnits.id, [...unitIds])),
  ]);
  for (const id of unitIds) {
    const unit = units.find((u) => u.id === id);
    if (!unit) return { ok: false, reason: 'no_such_unit', unitId: id };
    const decision = decideScope(assignments, unit);
    if (!decision.ok) return { ok: false, reason: decision.reason, unitId: id };
  }
  return { ok: true };
}

/** The units a person's assignments start at (what a compose flow offers first), top first. */
export function reachRoots(assignments: readonly ScopedAssignment[]): ScopeUnit[] {
  const usable = assignments.filter((a) => !a.onLeave && (ROLE_LEVEL[a.role] === 'any' || depth(a.unit.kind) >= depth(ROLE_LEVEL[a.role] as OrgKind)));
  const roots = usable.map((a) => a.unit).filter((u, i, all) => !all.some((o, j) => j !== i && o.id !== u.id && isWithin(u.path, o.path)));
  return [...new Map(roots.map((u) => [u.id, u])).values()].sort((a, b) => depth(a.kind) - depth(b.kind) || a.id - b.id);
}
