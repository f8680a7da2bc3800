import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { activities, activitySessions, activitySignups } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import type { UnitOfWork } from '../work/unit.js';
import { ActivityError } from './errors.js';
import { mustOrganise } from './organisers.js';
import { checkinOpen, countNoShows, mayRate, normaliseCode, REPEATED_NO_SHOWS } from './rules.js';

/**
 * 签到: the person types the short code staff show at the venue; every confirmed sign-up they made
 * for a session with that code, open for check-in now, is marked present (themselves and the
 * household members they signed up). Returns the activity titles checked in to.
 */
export async function checkIn(uow: UnitOfWork, personId: string, rawCode: string, now: Date): Promise<{ title: string; signupIds: string[] }> {
  const code = normaliseCode(z.string().max(20).parse(rawCode));
  const rows = await uow.tx
    .select({ signupId: activitySignups.id, title: activities.title, startsAt: activitySessions.startsAt, endsAt: activitySessions.endsAt, checkedInAt: activitySignups.checkedInAt })
    .from(activitySignups)
    .innerJoin(activitySessions, eq(activitySessions.id, activitySignups.sessionId))
    .innerJoin(activities, eq(activities.id, activitySessions.activityId))
    .where(and(eq(activitySignups.personId, personId), eq(activitySignups.status, 'confirmed'), eq(activitySessions.checkinCode, code)));
  if (rows.length === 0) throw new ActivityError('wrong_code');
  const open = rows.filter((r) => checkinOpen(r, now));
  if (open.length === 0) throw new ActivityError('checkin_closed');
  const ids = open.map((r) => r.signupId);
  await uow.tx.update(activitySignups).set({ checkedInAt: now, updatedAt: now }).where(and(inArray(activitySignups.id, ids), isNull(activitySignups.checkedInAt)));
  return { title: open[0]!.title, signupIds: ids };
}

/** An organiser records who came (or corrects a check-in) for a sign-up of their activity. */
export async function markAttendance(uow: UnitOfWork, organiserId: string, signupId: string, present: boolean, now: Date): Promise<void> {
  const [row] = await uow.tx
    .select({ activityId: activitySessions.activityId })
    .from(activitySignups)
    .innerJoin(activitySessions, eq(activitySessions.id, activitySignups.sessionId))
    .where(eq(activitySignups.id, signupId));
  if (!row) throw new ActivityError('not_found');
  await mustOrganise(uow.tx, row.activityId, organiserId);
  await uow.tx.update(activitySignups).set({ checkedInAt: present ? now : null, updatedAt: now }).where(eq(activitySignups.id, signupId));
  await recordAudit(uow.tx, { actorId: organiserId, action: present ? 'activity.attendance.present' : 'activity.attendance.absent', subjectType: 'activity_signup', subjectId: signupId });
}

export const ratingSchema = z.number().int().min(1).max(5);

/** 评价: 1–5 stars from someone who came; a second rating replaces the first. */
export async function rateSession(uow: UnitOfWork, personId: string, signupId: string, stars: number, now: Date): Promise<void> {
  const rating = ratingSchema.parse(stars);
  const [row] = await uow.tx
    .select({ status: activitySignups.status, checkedInAt: activitySignups.checkedInAt, personId: activitySignups.personId })
    .from(activitySignups)
    .where(eq(activitySignups.id, signupId));
  if (!row || row.personId !== personId) throw new ActivityError('not_signed_up');
  if (!mayRate(row)) throw new ActivityError('may_not_rate');
  await uow.tx.update(activitySignups).set({ rating, ratedAt: now, updatedAt: now }).where(eq(activitySignups.id, signupId));
}

/**
 * 爽约: participants of this activity who did not come, confirmed, to at least
 * REPEATED_NO_SHOWS ended sessions of the same community's activities. Organisers only.
 */
export async function repeatedNoShows(db: Queryable, organiserId: string, activityId: string, now: Date): Promise<{ participantId: string; noShows: number }[]> {
  const { communityId } = await mustOrganise(db, activityId, organiserId);
  const rows = await db
    .select({ participantId: activitySignups.participantId, status: activitySignups.status, checkedInAt: activitySignups.checkedInAt, endsAt: activitySessions.endsAt })
    .from(activitySignups)
    .innerJoin(activitySessions, eq(activitySessions.id, activitySignups.sessionId))
    .innerJoin(activities, eq(activities.id, activitySessions.activityId))
    .where(
      and(
        eq(activities.communityId, communityId),
        sql`${activitySignups.participantId} in (select s.participant_id from activity_signups s join activity_sessions ss on ss.id = s.session_id where ss.activity_id = ${activityId})`,
      ),
    );
  return [...countNoShows(rows, now)].filter(([, n]) => n >= REPEATED_NO_SHOWS).map(([participantId, noShows]) => ({ participantId, noShows }));
}

/** Attendance and ratings per session of an activity (for its organisers). */
export async function sessionReport(db: Queryable, organiserId: string, activityId: string) {
  await mustOrganise(db, activityId, organiserId);
  return db
    .select({
      sessionId: activitySessions.id,
      position: activitySessions.position,
      startsAt: activitySessions.startsAt,
      capacity: activitySessions.capacity,
      checkinCode: activitySessions.checkinCode,
      confirmed: sql<number>`count(*) filter (where ${activitySignups.status} = 'confirmed')::int`,
      waiting: sql<number>`count(*) filter (where ${activitySignups.status} = 'waiting')::int`,
      offered: sql<number>`count(*) filter (where ${activitySignups.status} = 'offered')::int`,
      came: sql<number>`count(${activitySignups.checkedInAt})::int`,
      rating: sql<number | null>`round(avg(${activitySignups.rating}), 1)::float`,
    })
    .from(activitySessions)
    .leftJoin(activitySignups, eq(activitySignups.sessionId, activitySessions.id))
    .where(eq(activitySessions.activityId, activityId))
    .groupBy(activitySessions.id)
    .orderBy(activitySessions.position);
}
