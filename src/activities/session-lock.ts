import { eq, sql } from 'drizzle-orm';
import { activities, activitySessions } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { ActivityError } from './errors.js';

export type LockedSession = typeof activitySessions.$inferSelect & {
  activity: Pick<typeof activities.$inferSelect, 'id' | 'kind' | 'title' | 'venue' | 'link' | 'communityId' | 'signupOpensAt' | 'signupClosesAt' | 'offerMinutes'>;
};

/**
 * Locks a session's row: every change to its seats (sign-up, cancel, offer, expiry) takes this
 * lock first, so seats are counted one change at a time and arrival order is lock order. The
 * `taken <= capacity` check constraint backs it: no path can oversell.
 */
export async function lockSession(tx: Tx, sessionId: string): Promise<LockedSession> {
  const [row] = await tx
    .select({
      session: activitySessions,
      activity: {
        id: activities.id,
        kind: activities.kind,
        title: activities.title,
        venue: activities.venue,
        link: activities.link,
        communityId: activities.communityId,
        signupOpensAt: activities.signupOpensAt,
        signupClosesAt: activities.signupClosesAt,
        offerMinutes: activities.offerMinutes,
      },
    })
    .from(activitySessions)
    .innerJoin(activities, eq(activities.id, activitySessions.activityId))
    .where(eq(activitySessions.id, sessionId))
    .for('update', { of: activitySessions });
  if (!row) throw new ActivityError('not_found');
  return { ...row.session, activity: row.activity };
}

/** Moves the seat counter (the check constraint refuses a count past capacity). */
export async function addTaken(tx: Tx, sessionId: string, by: number): Promise<void> {
  if (by === 0) return;
  await tx.update(activitySessions).set({ taken: sql`${activitySessions.taken} + ${by}` }).where(eq(activitySessions.id, sessionId));
}
