import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import type { Basis, Eligible, Tally } from './rules.js';
import { underScopes } from '../audience/scopes.js';

/**
 * Counting, always from the rows: the tally from the ballot log (each voter's latest ballot, i.e.
 * the rows no later ballot replaced), the denominator from the org tree and the owners register,
 * and turnout from who took part. Set-based SQL, so a million ballots are one statement.
 */

/** Households under any scope of the consultation (`h` = org_units alias). */
const inScope = (consultationId: string) =>
  underScopes('consultation', consultationId, sql`h.path`);
const owned = sql`exists (select 1 from audience_memberships am where am."group" = 'owners' and am.household_id = h.id)`;

/** The tally of the counted ballots, one row per option (options no ballot chose count 0). */
export async function tallyOf(db: Queryable, consultationId: string, optionCount: number): Promise<Tally> {
  // Grouped by the choice set itself (a handful of distinct sets), then spread over the options here.
  // The replaced ballots are a hash the whole log is probed against: with the default work_mem
  // (4 MB) that of a million ballots (100,000 changed) spilled to disk in 8 batches, and the tally
  // took 785–942 ms instead of 561–672 ms (bench/ballots.ts's chain). A tally runs seldom and
  // alone, so it may have more, for the transaction it runs in.
  const rows = (await db.transaction(async (tx) => {
    await tx.execute(sql`set local work_mem = '64MB'`);
    return tx.execute(sql`
    select b.choices, count(*)::bigint as count, coalesce(sum(b.weight), 0)::bigint as area from ballots b
    where b.consultation_id = ${consultationId}
      and not exists (select 1 from ballots r where r.consultation_id = b.consultation_id and r.replaces_id = b.id)
    group by b.choices`);
  })) as unknown as { choices: number[]; count: string; area: string }[];
  const options = Array.from({ length: optionCount }, () => ({ count: 0, area: 0 }));
  let ballots = 0;
  let area = 0;
  for (const r of rows) {
    const [n, a] = [Number(r.count), Number(r.area)];
    ballots += n;
    area += a;
    for (const o of r.choices) if (o >= 0 && o < optionCount) options[o] = { count: options[o]!.count + n, area: options[o]!.area + a };
  }
  return { ballots, area, options };
}

export interface EligibleSnapshot {
  people: number;
  households: number;
  owners: number;
  /** 0.01 m²: owned homes' area for owners' votes, all homes' otherwise. */
  area: number;
}

/** Who may vote, counted when the consultation opens (the denominator of quorum and art. 278). */
export async function eligibleSnapshot(db: Queryable, consultationId: string, basis: Basis): Promise<EligibleSnapshot> {
  const [r] = (await db.execute(sql`
    select count(*)::int as households,
           count(*) filter (where ${owned})::int as owners,
           coalesce(round(sum(h.floor_area_m2 * 100) filter (where ${owned})), 0)::bigint as owned_area,
           coalesce(round(sum(h.floor_area_m2 * 100)), 0)::bigint as area,
           (select count(*)::int from people p join org_units h on h.id = p.household_id
             where p.household_status = 'bound' and p.erased_at is null and ${inScope(consultationId)}
               and not exists (select 1 from adult_declarations a where a.person_id = p.id and not a.adult)) as people
    from org_units h where h.kind = 'household' and ${inScope(consultationId)}`)) as unknown as {
    households: number;
    owners: number;
    owned_area: string;
    area: string;
    people: number;
  }[];
  return { people: r!.people, households: r!.households, owners: r!.owners, area: Number(basis === 'owners' ? r!.owned_area : r!.area) };
}

/** The denominator the rules read, for the consultation's basis. */
export function eligibleFor(basis: Basis, s: EligibleSnapshot): Eligible {
  return { voters: basis === 'adults' ? s.people : basis === 'households' ? s.households : s.owners, area: s.area };
}

export interface TurnoutRow {
  buildingId: number | null;
  building: string;
  voters: number;
  households: number;
  eligibleHouseholds: number;
  area: number;
  eligibleArea: number;
}

/** The whole turnout: the buildings' rows added up. */
export function turnoutTotals(rows: readonly TurnoutRow[]): { voters: number; households: number; area: number } {
  return rows.reduce((s, r) => ({ voters: s.voters + r.voters, households: s.households + r.households, area: s.area + r.area }), { voters: 0, households: 0, area: 0 });
}

/** 实时参与率: people, households and area that took part, by building (never what they chose). */
export async function turnoutByBuilding(db: Queryable, consultationId: string, basis: Basis): Promise<TurnoutRow[]> {
  const rows = (await db.execute(sql`
    with homes as (
      select h.id, nullif(split_part(h.path, '/', 6), '')::int as building_id,
             round(coalesce(h.floor_area_m2, 0) * 100)::bigint as area, ${basis === 'owners' ? owned : sql`true`} as eligible
      from org_units h where h.kind = 'household' and ${inScope(consultationId)}
    ), took as (
      select v.household_id, count(*)::int as voters from consultation_voters v where v.consultation_id = ${consultationId} group by v.household_id
    )
    select hm.building_id as "buildingId", coalesce(bu.name, '') as building,
           coalesce(sum(t.voters), 0)::int as voters,
           count(t.household_id)::int as households,
           count(*) filter (where hm.eligible)::int as "eligibleHouseholds",
           coalesce(sum(hm.area) filter (where t.household_id is not null), 0)::bigint as area,
           coalesce(sum(hm.area) filter (where hm.eligible), 0)::bigint as "eligibleArea"
    from homes hm left join took t on t.household_id = hm.id left join org_units bu on bu.id = hm.building_id
    group by hm.building_id, bu.name order by bu.name`)) as unknown as (Omit<TurnoutRow, 'area' | 'eligibleArea'> & { area: string; eligibleArea: string })[];
  return rows.map((r) => ({ ...r, area: Number(r.area), eligibleArea: Number(r.eligibleArea) }));
}
