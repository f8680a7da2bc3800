import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { getUnit, ORG_KINDS, type OrgKind, type OrgUnit } from '../org/tree.js';

/**
 * 服务指标: 响应率 / 解决率 / 满意率 for a worker or an org unit over a period — the figures a street
 * office reports upward. All counts are over the same case set:
 *
 * - **Cases in scope** (`cases`): cases *created* in the half-open period `[from, to)`, and
 *   - unit scope, grid: `cases.grid_id` is that grid (a case with no grid counts for its
 *     community and above, but for no grid, so grids need not add up to their community);
 *   - unit scope, community / street / county: the case's community (`cases.community_id`) lies
 *     under the unit, i.e. the community's `org_units.path` starts with the unit's path;
 *   - worker scope: the case is attributed to the worker who **accepted** it, i.e. the actor of
 *     its first 'accepted' case event (earliest `at`, then lowest id). A later re-accept by
 *     someone else after a transfer does not move the case. Cases never accepted belong to no
 *     worker, so they count in unit figures only; a worker's 响应率 measures how promptly they
 *     accepted what they did accept.
 *
 * - **响应率** (`responseRate`) = `respondedInTime / assigned`:
 *   - `assigned`: cases with at least one 'assigned' case event;
 *   - `responded`: of those, cases with at least one 'accepted' case event;
 *   - `respondedInTime`: of those, cases whose first 'accepted' event is at or before the accept
 *     deadline of the **first** 'assigned' event. That deadline is `details.dueAt` of the first
 *     'assigned' event, an ISO-8601 timestamp (the cases module writes it so when it assigns).
 *     Re-assignments do not reset it. A first 'assigned' event without a readable `dueAt`
 *     counts as assigned but never as in time.
 * - **解决率** (`resolutionRate`) = `resolved / cases`, `resolved` = cases with `resolved_at` set
 *   (as of the query, not as of `to`: a period's figure rises while its late cases get resolved).
 * - **满意率** (`satisfactionRate`) = `satisfied / rated`:
 *   - `rated`: cases with a rating, or closed (`status` 'closed') with close reason
 *     'default_satisfied' (默认满意: no rating within the rating window);
 *   - `satisfied`: rating 'satisfied' or 'basically_satisfied', or unrated and default-closed.
 *   Other close reasons (withdrawn, duplicate, …) without a rating are not in the denominator.
 * - `medianResponseMinutes`: median of (first 'accepted' − first 'assigned') in minutes over the
 *   `responded` cases (interpolated between the middle two for an even count).
 *
 * A rate is null when its denominator is 0. Rates are plain fractions (0.75), not percentages.
 */
export interface ServiceRates {
  cases: number;
  /** Denominator of 响应率: cases with an 'assigned' event. */
  assigned: number;
  responded: number;
  respondedInTime: number;
  responseRate: number | null;
  resolved: number;
  resolutionRate: number | null;
  rated: number;
  satisfied: number;
  satisfactionRate: number | null;
  medianResponseMinutes: number | null;
}

export type ServiceScope = { kind: 'worker'; personId: string } | { kind: 'unit'; unitId: number };

export interface ServicePeriod {
  from: Date;
  to: Date;
}

export type BreakdownKind = 'grid' | 'community' | 'street';

export interface ServiceRatesRow {
  id: number;
  name: string;
  rates: ServiceRates;
}

const SCOPE_UNIT_KINDS: readonly OrgKind[] = ['county', 'street', 'community', 'grid'];

/** 响应率 / 解决率 / 满意率 for one worker or one unit (grid, community, street, county). */
export async function serviceRates(db: Queryable, scope: ServiceScope, period: ServicePeriod): Promise<ServiceRates> {
  let filter: SQL;
  if (scope.kind === 'worker') {
    filter = sql`fac.actor_id = ${scope.personId}`;
  } else {
    const unit = await scopeUnit(db, scope.unitId, SCOPE_UNIT_KINDS);
    filter = unit.kind === 'grid' ? sql`c.grid_id = ${unit.id}` : sql`cu.path like ${`${unit.path}%`}`;
  }
  const rows = await db.execute<AggregateRow>(sql`
    with facts as (${caseFacts(period, filter)})
    select ${aggregates}
    from facts f`);
  return toRates(rows[0]!);
}

/**
 * The rates of every unit of `childKind` under `parentUnitId` (e.g. each grid of a community, or
 * each community of a street), ordered by unit code, units without cases included with zero
 * counts and null rates. One SQL query after looking up the parent.
 */
export async function serviceRatesBreakdown(
  db: Queryable,
  parentUnitId: number,
  childKind: BreakdownKind,
  period: ServicePeriod,
): Promise<ServiceRatesRow[]> {
  const allowedParents = ORG_KINDS.slice(0, ORG_KINDS.indexOf(childKind));
  const parent = await scopeUnit(db, parentUnitId, allowedParents);
  const under = `${parent.path}%`;
  const match = childKind === 'grid' ? sql`f.grid_id = ch.id` : sql`f.community_path like ch.path || '%'`;
  const rows = await db.execute<AggregateRow & { id: number; name: string }>(sql`
    with facts as (${caseFacts(period, sql`cu.path like ${under}`)}),
    children as (
      select u.id, u.name, u.code, u.path
      from org_units u
      where u.kind = ${childKind} and u.path like ${under} and u.id <> ${parent.id}
    )
    select ch.id, ch.name, ${aggregates}
    from children ch
    left join facts f on ${match}
    group by ch.id, ch.name, ch.code
    order by ch.code`);
  return rows.map((r) => ({ id: Number(r.id), name: r.name, rates: toRates(r) }));
}

async function scopeUnit(db: Queryable, unitId: number, kinds: readonly OrgKind[]): Promise<OrgUnit> {
  const unit = await getUnit(db, unitId);
  if (!unit) throw new Error(`org unit ${unitId} not found`);
  if (!kinds.includes(unit.kind)) {
    throw new Error(`org unit ${unitId} is a ${unit.kind}; expected one of ${kinds.join(', ')}`);
  }
  return unit;
}

/**
 * One row per case created in the period and matching `filter`, with what the rates need:
 * its first 'assigned' event (time and dueAt) and first 'accepted' event (time and actor).
 * `filter` may refer to `c` (cases), `cu` (the case's community org unit) and `fac` (first accept).
 */
function caseFacts(period: ServicePeriod, filter: SQL): SQL {
  return sql`
    select c.id, c.grid_id, cu.path as community_path,
           c.resolved_at, c.rating, c.status, c.close_reason,
           fa.at as assigned_at, fa.due_at, fac.at as accepted_at, fac.actor_id as accepted_by
    from cases c
    join org_units cu on cu.id = c.community_id
    left join lateral (
      select e.at,
             case when e.details->>'dueAt' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'
                  then (e.details->>'dueAt')::timestamptz end as due_at
      from case_events e
      where e.case_id = c.id and e.kind = 'assigned'
      order by e.at, e.id
      limit 1
    ) fa on true
    left join lateral (
      select e.at, e.actor_id
      from case_events e
      where e.case_id = c.id and e.kind = 'accepted'
      order by e.at, e.id
      limit 1
    ) fac on true
    where c.created_at >= ${period.from.toISOString()}::timestamptz
      and c.created_at < ${period.to.toISOString()}::timestamptz
      and ${filter}`;
}

/** Aggregates over `facts f`; count(f.id) rather than count(*) so an unmatched left join counts 0. */
const aggregates = sql`
  count(f.id) as cases,
  count(f.id) filter (where f.assigned_at is not null) as assigned,
  count(f.id) filter (where f.assigned_at is not null and f.accepted_at is not null) as responded,
  count(f.id) filter (where f.assigned_at is not null and f.accepted_at <= f.due_at) as responded_in_time,
  count(f.id) filter (where f.resolved_at is not null) as resolved,
  count(f.id) filter (
    where f.rating is not null or (f.status = 'closed' and f.close_reason = 'default_satisfied')
  ) as rated,
  count(f.id) filter (
    where f.rating in ('satisfied', 'basically_satisfied')
       or (f.rating is null and f.status = 'closed' and f.close_reason = 'default_satisfied')
  ) as satisfied,
  percentile_cont(0.5) within group (order by (extract(epoch from f.accepted_at - f.assigned_at) / 60)::float8)
    filter (where f.assigned_at is not null and f.accepted_at is not null) as median_response_minutes`;

/** Counts arrive as bigint strings from postgres.js. */
type AggregateRow = {
  cases: string | number;
  assigned: string | number;
  responded: string | number;
  responded_in_time: string | number;
  resolved: string | number;
  rated: string | number;
  satisfied: string | number;
  median_response_minutes: string | number | null;
};

function toRates(r: AggregateRow): ServiceRates {
  const cases = Number(r.cases);
  const assigned = Number(r.assigned);
  const respondedInTime = Number(r.responded_in_time);
  const resolved = Number(r.resolved);
  const rated = Number(r.rated);
  const satisfied = Number(r.satisfied);
  return {
    cases,
    assigned,
    responded: Number(r.responded),
    respondedInTime,
    responseRate: ratio(respondedInTime, assigned),
    resolved,
    resolutionRate: ratio(resolved, cases),
    rated,
    satisfied,
    satisfactionRate: ratio(satisfied, rated),
    medianResponseMinutes: r.median_response_minutes === null ? null : Number(r.median_response_minutes),
  };
}

function ratio(n: number, d: number): number | null {
  return d === 0 ? null : n / d;
}
