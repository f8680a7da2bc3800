import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { orgUnits } from '../../db/schema/index.js';
import { anyOf } from '../../db/sql.js';
import { checkScopes, type ScopeRefusal } from '../staff/scope.js';

/**
 * 发送范围 of anything addressed to an audience (a notice, a consultation): which units it may
 * name, how many, and whether its author may address them. One check for every module that
 * writes an audience, so a notice and a consultation can't drift apart on who may reach whom.
 */

/** Units an audience may be addressed to: county … building (a 单元 or one household is nobody's audience). */
export const AUDIENCE_SCOPE_KINDS = ['county', 'street', 'community', 'grid', 'building'] as const;

/** How many units one audience may name. */
export const MAX_SCOPES = 10;

export type AudienceScopeRefusal = ScopeRefusal | 'no_such_unit' | 'scope_kind';

export const isAudienceScopeKind = (kind: string) => (AUDIENCE_SCOPE_KINDS as readonly string[]).includes(kind);

/**
 * May `actorId` address an audience over `unitIds`? Role × area first (staff scope), then the
 * kind of each unit; the first refusal comes with the unit it is about. On success, the units
 * once each, in the order given.
 */
export async function checkAudienceScopes(
  db: Queryable,
  actorId: string,
  unitIds: readonly number[],
): Promise<{ ok: true; unitIds: number[] } | { ok: false; reason: AudienceScopeRefusal; unitId: number }> {
  const once = [...new Set(unitIds)];
  const reach = await checkScopes(db, actorId, once);
  if (!reach.ok) return reach;
  const units = await db.select({ id: orgUnits.id, kind: orgUnits.kind }).from(orgUnits).where(anyOf(orgUnits.id, once));
  const wrong = units.find((u) => !isAudienceScopeKind(u.kind));
  if (wrong) return { ok: false, reason: 'scope_kind', unitId: wrong.id };
  return { ok: true, unitIds: once };
}

/** The tables that give a notice, a consultation or an activity its scopes: (owner, org_unit_id) rows. */
const SCOPE_TABLES = {
  notice: { table: 'notice_scopes', owner: 'notice_id' },
  consultation: { table: 'consultation_scopes', owner: 'consultation_id' },
  activity: { table: 'activity_scopes', owner: 'activity_id' },
} as const;

/**
 * 范围内: the unit at `path` (a household's) lies under one of `owner`'s scopes. Paths are
 * materialised ('/1/2/'), so "under" is a prefix. The one condition of who is in an audience
 * that tallies, eligibility, sign-ups and read counts all use; `owner` is an id (a parameter)
 * or a column of the outer query.
 */
export function underScopes(of: keyof typeof SCOPE_TABLES, owner: unknown, path: SQL): SQL {
  const t = SCOPE_TABLES[of];
  // Aliases of their own: `owner` and `path` are the caller's columns (its `s` may be a session).
  return sql`exists (select 1 from ${sql.raw(t.table)} scope_row join org_units scope_unit on scope_unit.id = scope_row.org_unit_id where scope_row.${sql.raw(t.owner)} = ${owner} and ${path} like scope_unit.path || '%')`;
}
