import { and, eq, like, sql } from 'drizzle-orm';
import { orgUnits } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';

export type OrgKind = (typeof orgUnits.$inferSelect)['kind'];
export type OrgUnit = typeof orgUnits.$inferSelect;

/** Order of the administrative tree, top first: 县 → 街道 → 社区 → 网格 → 楼栋 → 单元 → 户. */
export const ORG_KINDS: readonly OrgKind[] = ['county', 'street', 'community', 'grid', 'building', 'unit', 'household'];

/**
 * Inserts one org unit under `parentId` and fills its materialised path ('/1/4/9/', own id last),
 * so "everything under this street" is a prefix match.
 */
export async function insertOrgUnit(
  tx: Tx,
  unit: { kind: OrgKind; parentId: number | null; code: string; name: string; floorAreaM2?: number; lat?: number; lng?: number },
): Promise<OrgUnit> {
  const parentPath = unit.parentId === null ? '/' : await pathOf(tx, unit.parentId);
  const [row] = await tx
    .insert(orgUnits)
    .values({
      kind: unit.kind,
      parentId: unit.parentId,
      code: unit.code,
      name: unit.name,
      path: parentPath,
      floorAreaM2: unit.floorAreaM2 === undefined ? null : String(unit.floorAreaM2),
      lat: unit.lat === undefined ? null : String(unit.lat),
      lng: unit.lng === undefined ? null : String(unit.lng),
    })
    .returning();
  const [done] = await tx
    .update(orgUnits)
    .set({ path: `${parentPath}${row!.id}/` })
    .where(eq(orgUnits.id, row!.id))
    .returning();
  return done!;
}

async function pathOf(db: Queryable, id: number): Promise<string> {
  const [row] = await db.select({ path: orgUnits.path }).from(orgUnits).where(eq(orgUnits.id, id));
  if (!row) throw new Error(`org unit ${id} not found`);
  return row.path;
}

export async function findUnitByCode(db: Queryable, code: string): Promise<OrgUnit | undefined> {
  const [row] = await db.select().from(orgUnits).where(eq(orgUnits.code, code));
  return row;
}

export async function getUnit(db: Queryable, id: number): Promise<OrgUnit | undefined> {
  const [row] = await db.select().from(orgUnits).where(eq(orgUnits.id, id));
  return row;
}

/** Direct children of a unit (or the top-level units), ordered by code. */
export async function childUnits(db: Queryable, parentId: number | null): Promise<OrgUnit[]> {
  return db
    .select()
    .from(orgUnits)
    .where(parentId === null ? sql`${orgUnits.parentId} is null` : eq(orgUnits.parentId, parentId))
    .orderBy(orgUnits.code);
}

/** The ids on a unit's path, top first (the unit itself last). */
export function pathIds(path: string): number[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map(Number);
}

/** The unit's ancestors and itself, top first. */
export async function lineage(db: Queryable, unit: OrgUnit): Promise<OrgUnit[]> {
  const ids = pathIds(unit.path);
  const rows = ids.length ? await db.select().from(orgUnits).where(anyOf(orgUnits.id, ids)) : [];
  return ids.map((id) => rows.find((r) => r.id === id)).filter((r): r is OrgUnit => r !== undefined);
}

/** The ancestor of a given kind (e.g. the grid of a household), or the unit itself if it is that kind. */
export async function ancestorOfKind(db: Queryable, unit: OrgUnit, kind: OrgKind): Promise<OrgUnit | undefined> {
  return (await lineage(db, unit)).find((u) => u.kind === kind);
}

/** Whether `unitPath` lies inside (or is) the unit with `scopePath`: staff scope checks. */
export function isWithin(unitPath: string, scopePath: string): boolean {
  return unitPath.startsWith(scopePath);
}

/** Units of a kind under a scope unit. */
export async function unitsUnder(db: Queryable, scope: OrgUnit, kind: OrgKind): Promise<OrgUnit[]> {
  return db
    .select()
    .from(orgUnits)
    .where(and(eq(orgUnits.kind, kind), like(orgUnits.path, `${scope.path}%`)))
    .orderBy(orgUnits.code);
}

/** "民主街道 · 幸福社区 · 第一网格": a unit by its whole place below the county (three grids are 第一网格). */
export async function placeName(db: Queryable, unitId: number): Promise<string> {
  const unit = await getUnit(db, unitId);
  if (!unit) return '';
  const chain = await lineage(db, unit);
  const below = chain.filter((u) => u.kind !== 'county');
  return (below.length ? below : chain).map((u) => u.name).join(' · ');
}
