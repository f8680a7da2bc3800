import { and, asc, eq, gt, inArray, ne, or, sql } from 'drizzle-orm';
import { activities, activityOrganisers, activitySessions, activitySignups, afterSchoolChildren } from '../../db/schema/index.js';
import type { ErasedPerson } from '../residents/traces.js';
import { phoneTailSql } from '../residents/traces.js';
import type { UnitOfWork } from '../work/unit.js';
import { releaseSignup, type SignupSettings } from './signups.js';

/**
 * 删除我的数据, 幸福学堂's part (called by erasePerson, src/residents/privacy.ts). A sign-up naming
 * the person (as the one who signed up or as the participant) that is still live — waiting,
 * offered, or a seat for a session ahead — is given up by `releaseSignup`, the path a
 * cancellation takes, so a freed seat goes to the waiting list and an offer passes on as on
 * decline; a seat they booked for a household member goes too, since nobody would get its
 * messages. Sign-ups for sessions ahead are then deleted. Those for a session already held stay
 * without the person: a session's seats (`taken`), attendance and ratings keep adding up, and
 * 服务进社区 coverage counts sessions, which stay. 四点半课堂 children they signed up, or whose
 * guardian phone is theirs, are deleted; so are their organiser rows. Kept: the activities they
 * created (`created_by`, not null): the community's own record, pointing at the emptied person row.
 */
export async function eraseActivityRecords(uow: UnitOfWork, who: ErasedPerson, now: Date, settings: SignupSettings): Promise<void> {
  const tx = uow.tx;
  const theirs = or(eq(activitySignups.personId, who.id), eq(activitySignups.participantId, who.id))!;
  const live = await tx
    .select({ id: activitySignups.id, personId: activitySignups.personId, participantId: activitySignups.participantId, title: activities.title })
    .from(activitySignups)
    .innerJoin(activitySessions, eq(activitySessions.id, activitySignups.sessionId))
    .innerJoin(activities, eq(activities.id, activitySessions.activityId))
    .where(and(theirs, ne(activitySignups.status, 'cancelled'), or(ne(activitySignups.status, 'confirmed'), gt(activitySessions.startsAt, now))))
    // Waiting ones first, so a seat freed by the next ones is never offered to another sign-up of theirs.
    .orderBy(sql`${activitySignups.status} = 'waiting' desc`, asc(activitySignups.sessionId));
  for (const s of live) {
    const released = await releaseSignup(uow, s.id, now, settings);
    // A household member they booked for is told, so they can sign up themselves if they still
    // want to go; the erased booker is not (their chat now belongs to nobody).
    const member = s.participantId !== who.id ? s.participantId : null;
    if (released && member && s.personId === who.id) await uow.notify(member, (t) => ({ text: t.activities.bookerLeft({ title: s.title }) }));
  }

  const signedUp = tx.select({ id: activitySignups.id }).from(activitySignups).where(theirs);
  await tx.delete(afterSchoolChildren).where(or(inArray(afterSchoolChildren.signupId, signedUp), who.phone ? eq(phoneTailSql(afterSchoolChildren.guardianPhone), who.phone) : sql`false`));
  const ahead = tx.select({ id: activitySessions.id }).from(activitySessions).where(gt(activitySessions.startsAt, now));
  await tx.delete(activitySignups).where(and(theirs, inArray(activitySignups.sessionId, ahead)));
  await tx
    .update(activitySignups)
    .set({
      personId: sql`nullif(${activitySignups.personId}, ${who.id}::uuid)`,
      participantId: sql`nullif(${activitySignups.participantId}, ${who.id}::uuid)`,
      updatedAt: now,
    })
    .where(theirs);
  await tx.delete(activityOrganisers).where(eq(activityOrganisers.personId, who.id));
}
