import { sql } from 'drizzle-orm';
import { check, index, integer, numeric, pgEnum, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The administrative tree: 县/区/市 → 街道/乡镇 → 社区/村 → 网格 → 楼栋 → 单元 → 户.
 * One table with a materialised `path` ('/1/4/9/') so "everything under this street" is a
 * prefix match, which is how staff scope and notices are checked.
 */
export const orgKind = pgEnum('org_kind', ['county', 'street', 'community', 'grid', 'building', 'unit', 'household']);

export const orgUnits = pgTable(
  'org_units',
  {
    id: serial('id').primaryKey(),
    kind: orgKind('kind').notNull(),
    parentId: integer('parent_id').references((): any => orgUnits.id, { onDelete: 'restrict' }),
    /** Stable human code, e.g. JH-HS-01-03-2-1-302 for a household. */
    code: text('code').notNull(),
    name: text('name').notNull(),
    path: text('path').notNull(),
    /** 户 only: floor area in m², for Civil Code art. 278 weighted votes. */
    floorAreaM2: numeric('floor_area_m2', { precision: 10, scale: 2 }),
    /** Rough centre point for location routing (grids, buildings). */
    lat: numeric('lat', { precision: 9, scale: 6 }),
    lng: numeric('lng', { precision: 9, scale: 6 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('org_units_code_key').on(t.code),
    index('org_units_parent_idx').on(t.parentId),
    index('org_units_path_idx').using('btree', sql`${t.path} text_pattern_ops`),
    check('org_units_area_household_only', sql`${t.floorAreaM2} is null or ${t.kind} = 'household'`),
  ],
);
