import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import type { ActivityKind } from './rules.js';

/**
 * A session as its sign-up messages show it, and `shown`: the same facts as the claim statement
 * reads them (SHOWN, in seat-claim.ts), so a claim made with texts written from facts since changed
 * (an organiser renamed it, moved it) writes nothing and is told so.
 */
export interface SessionFacts {
  sessionId: string;
  startsAt: Date;
  activity: { id: string; kind: ActivityKind; title: string; venue: string | null; link: string | null };
  shown: string;
}

/** What a sign-up's texts say of its session, and what a claim compares them by, over `activity_sessions s` and `activities a`. */
export const SHOWN = sql`json_build_array(a.id, a.kind, a.title, a.venue, a.link, extract(epoch from s.starts_at))::text`;

/** The sessions' facts in ONE statement (those that exist; the group commit reads the sessions of a batch it has not seen). */
export async function sessionFacts(q: Queryable, sessionIds: readonly string[]): Promise<SessionFacts[]> {
  if (sessionIds.length === 0) return [];
  const rows = (await q.execute(sql`
    select s.id, s.starts_at, a.id as activity_id, a.kind, a.title, a.venue, a.link, ${SHOWN} as shown
    from activity_sessions s join activities a on a.id = s.activity_id
    where ${anyOf(sql`s.id`, sessionIds)}`)) as unknown as {
    id: string;
    starts_at: string;
    activity_id: string;
    kind: ActivityKind;
    title: string;
    venue: string | null;
    link: string | null;
    shown: string;
  }[];
  return rows.map((r) => ({
    sessionId: r.id,
    startsAt: new Date(r.starts_at),
    activity: { id: r.activity_id, kind: r.kind, title: r.title, venue: r.venue, link: r.link },
    shown: r.shown,
  }));
}
