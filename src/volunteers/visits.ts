import { and, desc, eq, gt, inArray, lte } from 'drizzle-orm';
import { z } from 'zod';
import { staffAssignments, visitLogs, visitMisses, visitRosters } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import type { Messages } from '../i18n/index.js';
import { localDateTime } from '../org/time.js';
import type { UnitOfWork } from '../work/unit.js';
import { VolunteerError } from './errors.js';
import { getProfile } from './profile.js';
import { nextDue, visitedInPeriod } from './rules.js';
import { mustReach } from './scope.js';

/** 巡访到期: a visit period ends; subject = roster id, seq = the period number. */
export const VISIT_DUE_TIMER = 'volunteer-visit-due';

export const rosterSchema = z.object({
  communityId: z.number().int().positive(),
  volunteerId: z.uuid(),
  visitee: z.string().trim().min(2).max(40),
  everyDays: z.number().int().min(1).max(90),
  /** End of the first period (default: everyDays from now). */
  firstDueAt: z.coerce.date().optional(),
});

/**
 * 独居老人巡访: a volunteer visits someone every `everyDays`; each period's end is a timer that
 * flags a missed visit to the community (its secretary and director) and starts the next period.
 */
export async function createRoster(uow: UnitOfWork, staffId: string, input: z.input<typeof rosterSchema>, now: Date): Promise<string> {
  const r = rosterSchema.parse(input);
  await mustReach(uow.tx, staffId, r.communityId);
  const profile = await getProfile(uow.tx, r.volunteerId);
  if (!profile || profile.communityId !== r.communityId) throw new VolunteerError('no_profile');
  const dueAt = r.firstDueAt ?? nextDue(now, r.everyDays);
  const [row] = await uow.tx
    .insert(visitRosters)
    .values({ communityId: r.communityId, volunteerId: r.volunteerId, visitee: r.visitee, everyDays: r.everyDays, nextDueAt: dueAt, createdBy: staffId, createdAt: now })
    .returning({ id: visitRosters.id });
  await uow.timers.set({ kind: VISIT_DUE_TIMER, subjectId: row!.id, seq: 1, dueAt });
  await recordAudit(uow.tx, { actorId: staffId, action: 'volunteer.roster.create', subjectType: 'visit_roster', subjectId: row!.id });
  return row!.id;
}

export const visitNoteSchema = z.string().trim().min(2).max(200);

/** 巡访记录: the assigned volunteer logs a visit with a short note. */
export async function logVisit(uow: UnitOfWork, volunteerId: string, rosterId: string, note: string, now: Date): Promise<void> {
  const text = visitNoteSchema.parse(note);
  const [roster] = await uow.tx.select().from(visitRosters).where(eq(visitRosters.id, rosterId));
  if (!roster || !roster.active) throw new VolunteerError('not_found');
  if (roster.volunteerId !== volunteerId) throw new VolunteerError('not_assigned');
  await uow.tx.insert(visitLogs).values({ rosterId, volunteerId, visitedAt: now, note: text });
}

/** The visits a volunteer is assigned, with their current period's end. */
export async function myRosters(db: Queryable, volunteerId: string) {
  return db.select().from(visitRosters).where(and(eq(visitRosters.volunteerId, volunteerId), eq(visitRosters.active, true))).orderBy(visitRosters.nextDueAt);
}

/**
 * A period ended (the timer): no visit logged in it → a miss is recorded and flagged to the
 * community's secretary and director, and the volunteer is told; either way the next period
 * starts (timer seq = period + 1). Idempotent: a stale period or inactive roster is left alone.
 */
export async function closeVisitPeriod(uow: UnitOfWork, rosterId: string, period: number, now: Date, timeZone: string): Promise<'visited' | 'missed' | 'stale'> {
  const [roster] = await uow.tx.select().from(visitRosters).where(eq(visitRosters.id, rosterId)).for('update');
  if (!roster || !roster.active || roster.period !== period) return 'stale';
  const from = new Date(roster.nextDueAt.getTime() - roster.everyDays * 86_400_000);
  const visits = await uow.tx
    .select({ at: visitLogs.visitedAt })
    .from(visitLogs)
    .where(and(eq(visitLogs.rosterId, rosterId), gt(visitLogs.visitedAt, from), lte(visitLogs.visitedAt, roster.nextDueAt)))
    .orderBy(desc(visitLogs.visitedAt))
    .limit(1);
  const visited = visitedInPeriod(visits.map((v) => v.at), roster.nextDueAt, roster.everyDays);
  if (!visited) {
    const [flag] = await uow.tx.insert(visitMisses).values({ rosterId, period, dueAt: roster.nextDueAt, flaggedAt: now }).onConflictDoNothing().returning();
    if (flag) {
      const staff = await communityLeads(uow.tx, roster.communityId);
      const due = localDateTime(roster.nextDueAt, timeZone);
      await uow.notifyAll([
        ...staff.map((s) => ({ personId: s.personId, build: (t: Messages) => ({ text: t.volunteers.visitMissed({ visitee: roster.visitee, due }) }) })),
        // An active roster has its volunteer (erasure ends a roster it takes the volunteer from).
        ...(roster.volunteerId ? [{ personId: roster.volunteerId, build: (t: Messages) => ({ text: t.volunteers.visitMissedVolunteer({ visitee: roster.visitee, due }) }) }] : []),
      ]);
    }
  }
  const dueAt = nextDue(roster.nextDueAt, roster.everyDays);
  await uow.tx.update(visitRosters).set({ period: period + 1, nextDueAt: dueAt }).where(eq(visitRosters.id, rosterId));
  await uow.timers.set({ kind: VISIT_DUE_TIMER, subjectId: rosterId, seq: period + 1, dueAt });
  return visited ? 'visited' : 'missed';
}

/** Who hears of a community's visits going wrong: its secretary and director. */
export async function communityLeads(db: Queryable, communityId: number): Promise<{ personId: string }[]> {
  return db
    .selectDistinct({ personId: staffAssignments.personId })
    .from(staffAssignments)
    .where(and(eq(staffAssignments.orgUnitId, communityId), eq(staffAssignments.active, true), inArray(staffAssignments.role, ['community_secretary', 'community_director'])));
}

/** Missed visits flagged in a community (staff reaching it). */
export async function missedVisits(db: Queryable, staffId: string, communityId: number) {
  await mustReach(db, staffId, communityId);
  return db
    .select({ rosterId: visitMisses.rosterId, visitee: visitRosters.visitee, volunteerId: visitRosters.volunteerId, dueAt: visitMisses.dueAt })
    .from(visitMisses)
    .innerJoin(visitRosters, eq(visitRosters.id, visitMisses.rosterId))
    .where(eq(visitRosters.communityId, communityId))
    .orderBy(desc(visitMisses.dueAt));
}
