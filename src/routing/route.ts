import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { dutyList, orgUnits, staffAssignments } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import type { Level } from '../cases/rules.js';
import { pathIds, type OrgUnit } from '../org/tree.js';
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
 * The grid a case belongs to, as an SQL expression (so intake stays one statement): the place's
 * own grid (household → … → grid), else the grid whose centre is nearest the reported point
 * within the community (great-circle distance, as distanceMeters), else null (the community
 * handles it).
 */
export function gridSql(c: { communityId: number; placeId: number | null; point: { lat: number; lng: number } | null }): SQL {
  const ofPlace =
    c.placeId === null
      ? sql`null::int`
      : sql`(select g.id from org_units p join org_units g on g.kind = 'grid' and p.path like g.path || '%' where p.id = ${c.placeId} limit 1)`;
  if (!c.point) return ofPlace;
  const lat = c.point.lat;
  const lng = c.point.lng;
  const nearest = sql`(select g.id from org_units g
      where g.kind = 'grid' and g.lat is not null and g.lng is not null
        and g.path like (select path from org_units where id = ${c.communityId}) || '%'
      order by asin(least(1, sqrt(power(sin(radians(g.lat::float8 - ${lat}::float8) / 2), 2)
                 + cos(radians(${lat}::float8)) * cos(radians(g.lat::float8)) * power(sin(radians(g.lng::float8 - ${lng}::float8) / 2), 2)))), g.id
      limit 1)`;
  return sql`coalesce(${ofPlace}, ${nearest})`;
}

type StaffRole = (typeof staffAssignments.$inferSelect)['role'];
type DutyRow = typeof dutyList.$inferSelect;

/** One active staff assignment, as routing reads it. */
export interface StaffRow {
  id: number;
  personId: string;
  orgUnitId: number;
  role: StaffRole;
  onLeave: boolean;
  subCommittee: SubCommittee | null;
}

const staffColumns = {
  id: staffAssignments.id,
  personId: staffAssignments.personId,
  orgUnitId: staffAssignments.orgUnitId,
  role: staffAssignments.role,
  onLeave: staffAssignments.onLeave,
  subCommittee: staffAssignments.subCommittee,
};

/** Staff of `roles` at exactly this unit, those not on leave first, oldest assignment first. */
function pickStaff(
  rows: readonly StaffRow[],
  unitId: number,
  roles: readonly StaffRole[],
  opts: { subCommittee?: SubCommittee; includeOnLeave?: boolean } = {},
): StaffRow[] {
  return rows
    .filter((r) => r.orgUnitId === unitId && roles.includes(r.role))
    .filter((r) => (opts.includeOnLeave || !r.onLeave) && (!opts.subCommittee || r.subCommittee === opts.subCommittee))
    .sort((a, b) => Number(a.onLeave) - Number(b.onLeave) || a.id - b.id);
}

/** Active staff of `roles` at exactly this unit, those not on leave first, oldest assignment first. */
export async function staffAt(
  db: Queryable,
  unitId: number,
  roles: StaffRole[],
  opts: { subCommittee?: SubCommittee; includeOnLeave?: boolean } = {},
): Promise<StaffRow[]> {
  const rows = await db
    .select(staffColumns)
    .from(staffAssignments)
    .where(and(eq(staffAssignments.orgUnitId, unitId), inArray(staffAssignments.role, roles), eq(staffAssignments.active, true)));
  return pickStaff(rows, unitId, roles, opts);
}

/** Who answers for each level of the ladder above the grid (社区书记/主任, 街道, 县). */
export const LEADER_ROLES: Record<Exclude<Level, 'grid'>, readonly StaffRole[]> = {
  community: ['community_secretary', 'community_director'],
  street: ['street_official'],
  // The county's administrator answers when no county official is bound (the top of the ladder).
  county: ['county_official', 'admin'],
};

/**
 * What routing decisions read, for a whole batch of cases in three queries: the duty lists, the
 * org units on the cases' paths (community, street, county, grid, place) and the active staff
 * of those units. The decisions themselves are plain functions over it (chooseRoute, leadersIn).
 */
export interface RoutingRefs {
  duty: ReadonlyMap<string, DutyRow>;
  units: ReadonlyMap<number, OrgUnit>;
  staff: readonly StaffRow[];
}

const dutyKey = (communityId: number, categoryId: number) => `${communityId}:${categoryId}`;

export async function loadRoutingRefs(
  db: Queryable,
  items: readonly { communityId: number; categoryId?: number; gridId?: number | null; placeId?: number | null }[],
): Promise<RoutingRefs> {
  const communityIds = [...new Set(items.map((i) => i.communityId))];
  const categoryIds = [...new Set(items.flatMap((i) => (i.categoryId === undefined ? [] : [i.categoryId])))];
  const startIds = [...new Set(items.flatMap((i) => [i.communityId, i.gridId ?? null, i.placeId ?? null]).filter((id): id is number => id !== null))];
  // Every unit on the path of a community, grid or place: one query over the materialised paths.
  const unitRows = await db
    .select()
    .from(orgUnits)
    .where(
      sql`${orgUnits.id} in (select unnest(string_to_array(trim(both '/' from p.path), '/'))::int from org_units p where ${anyOf(sql`p.id`, startIds)})`,
    );
  const units = new Map(unitRows.map((u) => [u.id, u]));
  const staffed = unitRows.filter((u) => u.kind === 'county' || u.kind === 'street' || u.kind === 'community' || u.kind === 'grid').map((u) => u.id);
  const [dutyRows, staff] = await Promise.all([
    categoryIds.length
      ? db.select().from(dutyList).where(and(anyOf(dutyList.communityId, communityIds), anyOf(dutyList.categoryId, categoryIds)))
      : Promise.resolve([] as DutyRow[]),
    staffed.length
      ? db.select(staffColumns).from(staffAssignments).where(and(anyOf(staffAssignments.orgUnitId, staffed), eq(staffAssignments.active, true)))
      : Promise.resolve([] as StaffRow[]),
  ]);
  return { duty: new Map(dutyRows.map((d) => [dutyKey(d.communityId, d.categoryId), d])), units, staff };
}

/** The unit's ancestors and itself, top first, from refs that hold its path. */
export function lineageIn(refs: RoutingRefs, unitId: number): OrgUnit[] {
  const unit = refs.units.get(unitId);
  if (!unit) return [];
  return pathIds(unit.path)
    .map((id) => refs.units.get(id))
    .filter((u): u is OrgUnit => u !== undefined);
}

/** The people who answer for a level of the ladder above the grid, from refs. */
export function leadersIn(refs: RoutingRefs, communityId: number, level: Exclude<Level, 'grid'>): { unit: OrgUnit; people: string[] } {
  const unit = levelUnitIn(refs, communityId, level);
  if (!unit) throw new Error(`no ${level} above community ${communityId}`);
  return { unit, people: pickStaff(refs.staff, unit.id, LEADER_ROLES[level]).map((s) => s.personId) };
}

/** The community itself, or the street or county above it, if the tree has one. */
function levelUnitIn(refs: RoutingRefs, communityId: number, level: Exclude<Level, 'grid'>): OrgUnit | undefined {
  const chain = lineageIn(refs, communityId);
  return level === 'community' ? chain.find((u) => u.id === communityId) : chain.find((u) => u.kind === level);
}

/**
 * Whether `personId` leads (and is not on leave at) the community, street or county a community
 * sits under: the people who may act on any of its cases.
 */
export async function leadsAbove(db: Queryable, communityId: number, personId: string): Promise<boolean> {
  const refs = await loadRoutingRefs(db, [{ communityId }]);
  return (['community', 'street', 'county'] as const).some((level) => {
    const unit = levelUnitIn(refs, communityId, level);
    return unit !== undefined && pickStaff(refs.staff, unit.id, LEADER_ROLES[level]).some((s) => s.personId === personId);
  });
}

/** The people who answer for a level of the ladder above the grid (社区书记/主任, 街道, 县). */
export async function leadersAt(db: Queryable, communityId: number, level: Exclude<Level, 'grid'>): Promise<{ unit: OrgUnit; people: string[] }> {
  return leadersIn(await loadRoutingRefs(db, [{ communityId }]), communityId, level);
}

/**
 * 社区权责清单 → who owns the case. Grid-worker categories go to the grid's worker on duty, a
 * colleague of the same grid when they are on leave (backup), else the community; sub-committee
 * categories to that committee's members; department categories up to the street or county
 * (权随责走: the community does not absorb a department's statutory duty).
 */
export function chooseRoute(refs: RoutingRefs, c: { communityId: number; categoryId: number; gridId: number | null }): RouteDecision {
  const duty = refs.duty.get(dutyKey(c.communityId, c.categoryId));
  const toCommunity = (why: string, subCommittee: SubCommittee | null = null): RouteDecision => {
    const { unit, people } = leadersIn(refs, c.communityId, 'community');
    return { level: 'community', assigneeId: people[0] ?? null, unitId: unit.id, subCommittee, department: null, why };
  };

  if (duty?.owner === 'department') {
    const level = duty.departmentLevel === 'county' ? 'county' : 'street';
    const { unit, people } = leadersIn(refs, c.communityId, level);
    return { level, assigneeId: people[0] ?? null, unitId: unit.id, subCommittee: null, department: duty.department ?? null, why: 'department' };
  }
  if (duty?.owner === 'sub_committee' && duty.subCommittee) {
    const members = pickStaff(refs.staff, c.communityId, ['subcommittee_member'], { subCommittee: duty.subCommittee });
    if (members[0]) {
      return { level: 'community', assigneeId: members[0].personId, unitId: c.communityId, subCommittee: duty.subCommittee, department: null, why: 'sub_committee' };
    }
    return toCommunity('no_member', duty.subCommittee);
  }
  // Grid worker (also the default for a category missing from the duty list).
  if (c.gridId === null) return toCommunity('no_grid');
  const workers = pickStaff(refs.staff, c.gridId, ['grid_worker'], { includeOnLeave: true });
  const onDuty = workers.filter((w) => !w.onLeave);
  if (onDuty[0]) {
    // The grid's own worker is the longest-serving assignment; anyone else on duty is the backup.
    const primary = workers.reduce((a, b) => (b.id < a.id ? b : a));
    const why = primary.onLeave ? 'backup' : 'grid_worker';
    return { level: 'grid', assigneeId: onDuty[0].personId, unitId: c.gridId, subCommittee: null, department: null, why };
  }
  return toCommunity(workers.length ? 'worker_on_leave' : 'no_worker');
}
