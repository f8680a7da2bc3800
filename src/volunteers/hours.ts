import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { volunteerHours, volunteerProfiles, volunteerSignups, volunteerTasks } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { getUnit, unitsUnder } from '../org/tree.js';
import { zonedTime } from '../activities/rules.js';
import type { UnitOfWork } from '../work/unit.js';
import { VolunteerError } from './errors.js';
import { maxHours } from './rules.js';
import { mustReach } from './scope.js';

export const hoursSchema = z.number().positive().max(24).multipleOf(0.5);

/**
 * 确认时长: the organiser says who came and for how long; each confirmed volunteer gets a ledger
 * row (team and community as they are now); those not named present are marked absent.
 */
export async function confirmHours(uow: UnitOfWork, organiserId: string, taskId: string, attended: readonly { personId: string; hours: number }[], now: Date): Promise<number> {
  const [task] = await uow.tx.select().from(volunteerTasks).where(eq(volunteerTasks.id, taskId)).for('update');
  if (!task) throw new VolunteerError('not_found');
  if (task.organiserId !== organiserId) throw new VolunteerError('not_organiser');
  await mustReach(uow.tx, organiserId, task.communityId);
  const cap = maxHours(task.startsAt, task.endsAt);
  const signed = await uow.tx.select().from(volunteerSignups).where(and(eq(volunteerSignups.taskId, taskId), eq(volunteerSignups.status, 'signed')));
  const came = new Map(attended.map((a) => [a.personId, hoursSchema.parse(a.hours)]));
  if ([...came.values()].some((h) => h > cap)) throw new VolunteerError('too_many_hours');
  if ([...came.keys()].some((p) => !signed.some((s) => s.personId === p))) throw new VolunteerError('not_signed_up');
  for (const s of signed) {
    const hours = came.get(s.personId);
    await uow.tx.update(volunteerSignups).set({ status: hours ? 'attended' : 'absent', updatedAt: now }).where(and(eq(volunteerSignups.taskId, taskId), eq(volunteerSignups.personId, s.personId)));
    if (!hours) continue;
    const [profile] = await uow.tx.select({ team: volunteerProfiles.team }).from(volunteerProfiles).where(eq(volunteerProfiles.personId, s.personId));
    await uow.tx.insert(volunteerHours).values({ personId: s.personId, taskId, communityId: task.communityId, team: profile?.team ?? null, hours, servedAt: task.startsAt, confirmedBy: organiserId });
    await uow.notify(s.personId, (t) => ({ text: t.volunteers.hoursConfirmed({ title: task.title, hours }) }));
  }
  await recordAudit(uow.tx, { actorId: organiserId, action: 'volunteer.hours.confirm', subjectType: 'volunteer_task', subjectId: taskId, details: { attended: came.size, signed: signed.length } });
  return came.size;
}

/** 我的服务时长: a volunteer's ledger, newest first, with the total. */
export async function ledger(db: Queryable, personId: string, limit = 20) {
  const rows = await db
    .select({ hours: volunteerHours.hours, servedAt: volunteerHours.servedAt, title: volunteerTasks.title })
    .from(volunteerHours)
    .leftJoin(volunteerTasks, eq(volunteerTasks.id, volunteerHours.taskId))
    .where(eq(volunteerHours.personId, personId))
    .orderBy(desc(volunteerHours.servedAt))
    .limit(limit);
  const [sum] = await db.select({ total: sql<number>`coalesce(sum(${volunteerHours.hours}), 0)::float` }).from(volunteerHours).where(eq(volunteerHours.personId, personId));
  return { total: sum!.total, rows };
}

/** 月度汇总: hours and volunteers per community and team in one local month ("2026-11"), under a unit the staff reaches. */
export async function monthlySummary(db: Queryable, staffId: string, unitId: number, month: string, timeZone: string) {
  await mustReach(db, staffId, unitId);
  const unit = await getUnit(db, unitId);
  const communities = unit!.kind === 'community' ? [unit!] : await unitsUnder(db, unit!, 'community');
  if (communities.length === 0) return [];
  const [y, m] = z.string().regex(/^\d{4}-\d{2}$/).parse(month).split('-').map(Number) as [number, number];
  const from = zonedTime(y, m - 1, 1, 0, 0, timeZone);
  const to = zonedTime(m === 12 ? y + 1 : y, m % 12, 1, 0, 0, timeZone);
  const names = new Map(communities.map((c) => [c.id, c.name]));
  const rows = await db
    .select({
      communityId: volunteerHours.communityId,
      team: volunteerHours.team,
      hours: sql<number>`sum(${volunteerHours.hours})::float`,
      // An erased volunteer's rows carry a key of their own instead of the person (src/volunteers/erasure.ts).
      volunteers: sql<number>`count(distinct coalesce(${volunteerHours.personId}, ${volunteerHours.erasedKey}))::int`,
      services: sql<number>`count(*)::int`,
    })
    .from(volunteerHours)
    .where(and(gte(volunteerHours.servedAt, from), lt(volunteerHours.servedAt, to), sql`${volunteerHours.communityId} in (${sql.join(communities.map((c) => sql`${c.id}`), sql`, `)})`))
    .groupBy(volunteerHours.communityId, volunteerHours.team)
    .orderBy(volunteerHours.communityId, volunteerHours.team);
  return rows.map((r) => ({ ...r, community: names.get(r.communityId) ?? '' }));
}
