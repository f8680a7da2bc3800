import { and, eq, isNull } from 'drizzle-orm';
import { activities, activitySessions, activitySignups } from '../../db/schema/index.js';
import { localDateTime } from '../org/time.js';
import type { UnitOfWork } from '../work/unit.js';
import type { ReminderKey } from './rules.js';

/**
 * 活动提醒: the 24 h or 1 h reminder of a session to everyone holding a confirmed seat. Sent once:
 * the session's reminded_* stamp is set in the same transaction as the messages, only where it
 * was unset, so a timer fired twice (wake-up and sweep) sends nothing the second time.
 */
export async function sendReminder(uow: UnitOfWork, sessionId: string, key: ReminderKey, now: Date, timeZone: string): Promise<number> {
  const column = key === '24h' ? activitySessions.reminded24At : activitySessions.reminded1At;
  const [stamped] = await uow.tx
    .update(activitySessions)
    .set(key === '24h' ? { reminded24At: now } : { reminded1At: now })
    .where(and(eq(activitySessions.id, sessionId), isNull(column)))
    .returning({ startsAt: activitySessions.startsAt, activityId: activitySessions.activityId });
  if (!stamped) return 0;
  const [a] = await uow.tx.select({ title: activities.title, venue: activities.venue, link: activities.link }).from(activities).where(eq(activities.id, stamped.activityId));
  const rows = await uow.tx
    .selectDistinct({ personId: activitySignups.personId })
    .from(activitySignups)
    .where(and(eq(activitySignups.sessionId, sessionId), eq(activitySignups.status, 'confirmed')));
  // A sign-up without a person was kept anonymised by erasure (src/activities/erasure.ts): nobody to remind.
  const holders = rows.flatMap((r) => (r.personId ? [r.personId] : []));
  const when = localDateTime(stamped.startsAt, timeZone);
  const place = [a!.venue, a!.link].filter(Boolean).join(' / ');
  await uow.notifyAll(holders.map((personId) => ({ personId, build: (t) => ({ text: (key === '24h' ? t.activities.remind24 : t.activities.remind1)({ title: a!.title, when, place }) }) })));
  return holders.length;
}
