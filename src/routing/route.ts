import { and, asc, eq, inArray, isNotNull, like, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { dutyList, orgUnits, staffAssignments } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import type { Level } from '../cases/rules.js';
import { distanceMeters } from '../cases/rules.js';
import { getUnit, lineage, type OrgUnit } from '../org/tree.js';

const grids = alias(orgUnits, 'grids');
import type { SubCommittee } from '../staff/codes.js';

/** Where a case goes: a person (or nobody found: the unit's office sees it) at a level. */
export interface RouteDecision {
  level: Level;
  assigneeId: string | null;
  /** The org unit responsible: the grid, the community, or the street/county for departments. */
  unitId: number;
  subCommittee: SubCommittee | null;
  /** 权随责走: a department above the community owns this category. */
  department: string | null;
  /** Why this target, for the timeline (e.g. 'grid_worker', 'backup', 'no_worker'). */
  why: string;
}

/**
 * The grid a case belongs to: the place's own grid (household → … → grid), else the grid whose
 * centre is nearest the reported point within the community, else none (the community handles it).
 */
export async function gridFor(
  db: Queryable,
  c: { communityId: number; placeId: number | null; point: { lat: number; lng: number } | null },
): Promise<number | null> {
  if (c.placeId !== null) {
    // The grid on the place's materialised path (or the place itself), in one query.
    const [grid] = await db
      .select({ id: grids.id })
      .from(orgUnits)
      .innerJoin(grids, and(eq(grids.kind, 'grid'), sql`${orgUnits.path} like ${grids.path} || '%'`))
      .where(eq(orgUnits.id, c.placeId))
      .limit(1);
    if (grid) return grid.id;
  }
  if (c.point) {
    const community = await getUnit(db, c.communityId);
    if (!community) return null;
    const grids = await db
      .select({ id: orgUnits.id, lat: orgUnits.lat, lng: orgUnits.lng })
      .from(orgUnits)
      .where(and(eq(orgUnits.kind, 'grid'), like(orgUnits.path, `${community.path}%`), isNotNull(orgUnits.lat), isNotNull(orgUnits.lng)));
    let best: { id: number; d: number } | undefined;
    for (const g of grids) {
      const d = distanceMeters(c.point, { lat: Number(g.lat), lng: Number(g.lng) });
      if (!best || d < best.d) best = { id: g.id, d };
    }
    return best?.id ?? null;
  }
  return null;
}

/** Active staff of `roles` at exactly this unit, those not on leave first, oldest assignment first. */
export async function staffAt(
  db: Queryable,
  unitId: number,
  roles: (typeof staffAssignments.$inferSelect)['role'][],
  opts: { subCommittee?: SubCommittee; includeOnLeave?: boolean } = {},
): Promise<{ id: number; personId: string; onLeave: boolean }[]> {
  const rows = await db
    .select({ id: staffAssignments.id, personId: staffAssignments.personId, onLeave: staffAssignments.onLeave, subCommittee: staffAssignments.subCommittee })
    .from(staffAssignments)
    .where(and(eq(staffAssignments.orgUnitId, unitId), inArray(staffAssignments.role, roles), eq(staffAssignments.active, true)))
    .orderBy(asc(staffAssignments.onLeave), asc(staffAssignments.id));
  return rows.filter((r) => (opts.includeOnLeave || !r.onLeave) && (!opts.subCommittee || r.subCommittee === opts.subCommittee));
}

type StaffRole = (typeof staffAssignments.$inferSelect)['role'];

/** Who answers for each level of the ladder above the grid (社区书记/主任, 街道, 县). */
export const LEADER_ROLES: Record<Exclude<Level, 'grid'>, readonly StaffRole[]> = {
  community: ['community_secretary', 'community_director'],
  street: ['street_official'],
  county: ['county_official'],
};

/**
 * Whether `personId` leads (and is not on leave at) the community, street or county a community
 * sits under: the people who may act on any of its cases. One lineage read, one query.
 */
export async function leadsAbove(db: Queryable, communityId: number, personId: string): Promise<boolean> {
  const community = await getUnit(db, communityId);
  if (!community) return false;
  const chain = await lineage(db, community);
  const held = await db
    .select({ orgUnitId: staffAssignments.orgUnitId, role: staffAssignments.role })
    .from(staffAssignments)
    .where(
      and(
        eq(staffAssignments.personId, personId),
        eq(staffAssignments.active, true),
        eq(staffAssignments.onLeave, false),
        inArray(staffAssignments.orgUnitId, chain.map((u) => u.id)),
      ),
    );
  return held.some((h) => {
    const kind = chain.find((u) => u.id === h.orgUnitId)?.kind;
    return (kind === 'community' || kind === 'street' || kind === 'county') && LEADER_ROLES[kind].includes(h.role);
  });
}

/** The people who answer for a level of the ladder above the grid (社区书记/主任, 街道, 县). */
export async function leadersAt(db: Queryable, communityId: number, level: Exclude<Level, 'grid'>): Promise<{ unit: OrgUnit; people: string[] }> {
  const community = await getUnit(db, communityId);
  if (!community) throw new Error(`community ${communityId} not found`);
  const chain = await lineage(db, community);
  const unit = level === 'community' ? community : chain.find((u) => u.kind === level);
  if (!unit) throw new Error(`no ${level} above community ${communityId}`);
  const people = (await staffAt(db, unit.id, [...LEADER_ROLES[level]])).map((s) => s.personId);
  return { unit, people };
}

/**
 * 社区权责清单 → who owns the case. Grid-worker categories go to the grid's worker on duty, a
 * colleague of the same grid when they are on leave (backup), else the community; sub-committee
 * categories to that committee's members; department categories up to the street or county
 * (权随责走: the community does not absorb a department's statutory duty).
 */
export async function decideRoute(
  db: Queryable,
  c: { communityId: number; categoryId: number; gridId: number | null },
): Promise<RouteDecision> {
  const [duty] = await db
    .select()
    .from(dutyList)
    .where(and(eq(dutyList.communityId, c.communityId), eq(dutyList.categoryId, c.categoryId)));
  const toCommunity = async (why: string, subCommittee: SubCommittee | null = null): Promise<RouteDecision> => {
    const { unit, people } = await leadersAt(db, c.communityId, 'community');
    return { level: 'community', assigneeId: people[0] ?? null, unitId: unit.id, subCommittee, department: null, why };
  };

  if (duty?.owner === 'department') {
    const level = duty.departmentLevel === 'county' ? 'county' : 'street';
    const { unit, people } = await leadersAt(db, c.communityId, level);
    return { level, assigneeId: people[0] ?? null, unitId: unit.id, subCommittee: null, department: duty.department ?? null, why: 'department' };
  }
  if (duty?.owner === 'sub_committee' && duty.subCommittee) {
    const members = await staffAt(db, c.communityId, ['subcommittee_member'], { subCommittee: duty.subCommittee });
    if (members[0]) {
      return { level: 'community', assigneeId: members[0].personId, unitId: c.communityId, subCommittee: duty.subCommittee, department: null, why: 'sub_committee' };
    }
    return toCommunity('no_member', duty.subCommittee);
  }
  // Grid worker (also the default for a category missing from the duty list).
  if (c.gridId === null) return toCommunity('no_grid');
  const workers = await staffAt(db, c.gridId, ['grid_worker'], { includeOnLeave: true });
  const onDuty = workers.filter((w) => !w.onLeave);
  if (onDuty[0]) {
    // The grid's own worker is the longest-serving assignment; anyone else on duty is the backup.
    const primary = workers.reduce((a, b) => (b.id < a.id ? b : a));
    const why = primary.onLeave ? 'backup' : 'grid_worker';
    return { level: 'grid', assigneeId: onDuty[0].personId, unitId: c.gridId, subCommittee: null, department: null, why };
  }
  return toCommunity(workers.length ? 'worker_on_leave' : 'no_worker');
}
