import { asc, sql } from 'drizzle-orm';
import { cases } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import { getUnit, placeName } from '../org/tree.js';
import type { StaffBoundHook } from '../staff/binding.js';
import type { StaffRole, SubCommittee } from '../staff/codes.js';
import { assigneeCard, caseView } from './card.js';
import type { Effects } from './effects.js';
import { flowEffects, type CaseScheduler } from './run.js';
import { event, tellFollowers } from './record.js';
import type { Level } from './rules.js';

/**
 * No case without someone who knows about it. Routing that finds nobody bound leaves a case
 * waiting at its unit (`assigned`, no assignee); the first worker or leader who binds to that
 * unit gets every case waiting there, and the grids and communities nobody is bound to are
 * listed for the people who hand out staff codes.
 */

/** A staff assignment just made (工作人员绑定). */
export interface BoundStaff {
  personId: string;
  role: StaffRole;
  orgUnitId: number;
  subCommittee: SubCommittee | null;
}

/** Which waiting cases a new assignment answers for, as a condition on `cases c` (null: none). */
function waitingFor(bound: BoundStaff, unitPath: string) {
  const under = sql`(select path from org_units where id = c.community_id) like ${`${unitPath}%`}`;
  switch (bound.role) {
    case 'grid_worker':
      // Its own grid's cases waiting at the grid or at the community above it (not a sub-committee's).
      return sql`c.grid_id = ${bound.orgUnitId} and c.assignee_sub_committee is null and c.level in ('grid', 'community')
                 and c.assignee_unit_id in (${bound.orgUnitId}, c.community_id)`;
    case 'subcommittee_member':
      return bound.subCommittee ? sql`c.community_id = ${bound.orgUnitId} and c.assignee_sub_committee = ${bound.subCommittee}` : null;
    case 'community_secretary':
    case 'community_director':
      return sql`c.community_id = ${bound.orgUnitId} and c.level in ('grid', 'community')`;
    case 'street_official':
      return sql`${under} and (c.assignee_unit_id = ${bound.orgUnitId} or c.level in ('street', 'county'))`;
    case 'county_official':
    case 'admin':
      return sql`${under}`;
    default:
      return null;
  }
}

const LEVEL_OF_ROLE: Partial<Record<StaffRole, Level>> = {
  grid_worker: 'grid',
  subcommittee_member: 'community',
  community_secretary: 'community',
  community_director: 'community',
  street_official: 'street',
  county_official: 'county',
  admin: 'county',
};

/**
 * Hands every case waiting for this assignment to the person who just bound, as a card each.
 * The running deadline is kept (it never stopped); the residents hear someone now has it.
 */
export async function claimWaitingCases(tx: Tx, fx: Pick<Effects, 'notify'>, bound: BoundStaff, now: Date): Promise<string[]> {
  const unit = await getUnit(tx, bound.orgUnitId);
  const level = LEVEL_OF_ROLE[bound.role];
  const condition = unit && level ? waitingFor(bound, unit.path) : null;
  if (!condition) return [];
  const picked = (await tx.execute(sql`
    select c.id from cases c where c.status = 'assigned' and c.assignee_id is null and ${condition}
    order by c.due_at nulls last, c.created_at limit 200 for update skip locked`)) as unknown as { id: string }[];
  if (picked.length === 0) return [];
  const rows = await tx.select().from(cases).where(anyOf(cases.id, picked.map((p) => p.id))).orderBy(asc(cases.dueAt));
  // A grid worker takes their grid's cases back to the grid level (they waited at the community
  // only because nobody was at the grid); anyone else takes them where they are.
  const atGrid = bound.role === 'grid_worker';
  await tx
    .update(cases)
    .set({ assigneeId: bound.personId, ...(atGrid ? { level: 'grid' as const, assigneeUnitId: bound.orgUnitId } : {}), updatedAt: now })
    .where(anyOf(cases.id, rows.map((r) => r.id)));
  for (const row of rows) {
    const claimed = { ...row, assigneeId: bound.personId, ...(atGrid ? { level: 'grid' as const, assigneeUnitId: bound.orgUnitId } : {}) };
    await event(tx, row, 'assigned', {
      toStatus: 'assigned',
      level: claimed.level,
      reason: 'staff_bound',
      details: { assigneeId: bound.personId, unitId: claimed.assigneeUnitId, role: bound.role },
      at: now,
    });
    if (row.dueAt) await fx.notify(bound.personId, assigneeCard(await caseView(tx, claimed), claimed, row.dueAt));
    await tellFollowers(tx, fx, row.id, (t) => ({ text: t.cases.toldAssigned({ number: row.number }) }));
  }
  return rows.map((r) => r.number);
}

/** A grid or community nobody is bound to, with its whole place name and how many cases wait there. */
export interface UncoveredUnit {
  id: number;
  kind: 'grid' | 'community';
  place: string;
  waiting: number;
}

/**
 * Grids without an active grid worker (网格员) and communities without a secretary or director
 * (社区书记/主任): where a case would wait for someone to bind.
 */
export async function uncoveredUnits(db: Queryable): Promise<UncoveredUnit[]> {
  const rows = (await db.execute(sql`
    select u.id, u.kind::text as kind,
           (select count(*)::int from cases c where c.status = 'assigned' and c.assignee_id is null
              and (case when u.kind = 'grid' then c.grid_id = u.id else c.community_id = u.id end)) as waiting
    from org_units u
    where (u.kind = 'grid' and not exists (
            select 1 from staff_assignments s where s.org_unit_id = u.id and s.active and s.role = 'grid_worker'))
       or (u.kind = 'community' and not exists (
            select 1 from staff_assignments s where s.org_unit_id = u.id and s.active and s.role in ('community_secretary', 'community_director')))
    order by u.path`)) as unknown as { id: number; kind: 'grid' | 'community'; waiting: number }[];
  const out: UncoveredUnit[] = [];
  for (const r of rows) out.push({ ...r, place: await placeName(db, r.id) });
  return out;
}

/**
 * `npm run linli -- coverage` and the start-up banner: one line per grid or community nobody is
 * bound to, with the cases waiting there (operator text, English like the rest of the CLI).
 */
export async function coverageReport(db: Queryable): Promise<string[]> {
  const units = await uncoveredUnits(db);
  if (units.length === 0) return ['every grid has a grid worker and every community a secretary or director'];
  return [
    `${units.length} unit(s) with nobody bound; their cases wait until someone binds (issue a code with \`staff-code\`):`,
    ...units.map((u) => `${u.kind === 'grid' ? 'grid     ' : 'community'}\t${u.place}${u.waiting ? `\t${u.waiting} case(s) waiting` : ''}`),
  ];
}

/** The staff-binding hook of the case module: whoever binds gets the cases waiting for them at once. */
export function claimOnStaffBound(deps: { scheduler: CaseScheduler }): StaffBoundHook {
  return async (ctx, bound) => {
    const numbers = await claimWaitingCases(ctx.tx, flowEffects(ctx, deps.scheduler), bound, ctx.now);
    if (numbers.length) ctx.reply({ text: ctx.t.report.waitingForYou({ count: numbers.length, numbers: numbers.join('、') }) });
  };
}
