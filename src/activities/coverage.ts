import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { activities, activitySessions } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { getUnit, unitsUnder } from '../org/tree.js';
import { zonedTime, coverage, type CoverageCell, type ServiceLine } from './rules.js';

/**
 * 服务进社区 coverage under a unit (a street, the county, or one community): per community and
 * service line, the sessions held this (local) year so far against the aim of two.
 */
export async function serviceCoverage(db: Queryable, unitId: number, now: Date, timeZone: string): Promise<(CoverageCell & { community: string })[]> {
  const scope = await getUnit(db, unitId);
  if (!scope) return [];
  const communities = scope.kind === 'community' ? [scope] : await unitsUnder(db, scope, 'community');
  if (communities.length === 0) return [];
  const year = Number(new Intl.DateTimeFormat('en', { timeZone, year: 'numeric' }).format(now));
  const from = zonedTime(year, 0, 1, 0, 0, timeZone);
  const held = await db
    .select({ communityId: activities.communityId, line: activities.serviceLine, count: sql<number>`count(*)::int` })
    .from(activitySessions)
    .innerJoin(activities, eq(activities.id, activitySessions.activityId))
    .where(and(eq(activities.kind, 'service'), gte(activitySessions.startsAt, from), lt(activitySessions.startsAt, now), sql`${activities.communityId} in (${sql.join(communities.map((c) => sql`${c.id}`), sql`, `)})`))
    .groupBy(activities.communityId, activities.serviceLine);
  const names = new Map(communities.map((c) => [c.id, c.name]));
  return coverage(
    communities.map((c) => c.id),
    held.map((h) => ({ communityId: h.communityId, line: h.line as ServiceLine, count: h.count })),
  ).map((c) => ({ ...c, community: names.get(c.communityId) ?? '' }));
}
