import { and, eq, isNull } from 'drizzle-orm';
import { activities, activitySessions, activitySignups, afterSchoolChildren } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { mustOrganise } from './organisers.js';

/**
 * 四点半课堂 children and their guardians: a minor's data. Only the activity's organisers see it
 * (each look audited), and it is deleted at the end of term (timer kind `activity-term-end`, a row in `timers`, so the timer sweep fires it even after a lost wake-up).
 */
export async function childrenOf(tx: Tx, organiserId: string, activityId: string) {
  await mustOrganise(tx, activityId, organiserId);
  const rows = await tx
    .select({
      signupId: afterSchoolChildren.signupId,
      session: activitySessions.position,
      status: activitySignups.status,
      childName: afterSchoolChildren.childName,
      childGrade: afterSchoolChildren.childGrade,
      guardianName: afterSchoolChildren.guardianName,
      guardianPhone: afterSchoolChildren.guardianPhone,
    })
    .from(afterSchoolChildren)
    .innerJoin(activitySignups, eq(activitySignups.id, afterSchoolChildren.signupId))
    .innerJoin(activitySessions, eq(activitySessions.id, activitySignups.sessionId))
    .where(eq(afterSchoolChildren.activityId, activityId))
    .orderBy(activitySessions.position, activitySignups.arrival);
  await recordAudit(tx, { actorId: organiserId, action: 'activity.minors.view', subjectType: 'activity', subjectId: activityId, details: { rows: rows.length } });
  return rows;
}

/** Deletes a term's children's data (idempotent) and audits how many rows went. */
export async function purgeMinorData(tx: Tx, activityId: string, now: Date): Promise<number> {
  const gone = await tx.delete(afterSchoolChildren).where(eq(afterSchoolChildren.activityId, activityId)).returning({ id: afterSchoolChildren.signupId });
  const [marked] = await tx
    .update(activities)
    .set({ minorDataPurgedAt: now })
    .where(and(eq(activities.id, activityId), isNull(activities.minorDataPurgedAt)))
    .returning({ id: activities.id });
  if (marked || gone.length) await recordAudit(tx, { actorId: null, action: 'activity.minors.purge', subjectType: 'activity', subjectId: activityId, details: { rows: gone.length } });
  return gone.length;
}
