import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import type { ActivityKind, SignupStatus } from './rules.js';
import { underScopes } from '../audience/scopes.js';

export interface ComingSession {
  sessionId: string;
  activityId: string;
  kind: ActivityKind;
  title: string;
  topic: string | null;
  speaker: string | null;
  place: string;
  startsAt: Date;
  free: number;
  /** My live sign-up for it, if any. */
  mine: SignupStatus | null;
}

/** 近期活动: sessions ahead whose audience includes the person's home and whose sign-up is open, soonest first. */
export async function comingSessions(db: Queryable, personId: string, now: Date, limit = 8): Promise<ComingSession[]> {
  const rows = (await db.execute(sql`
    select s.id as session_id, a.id as activity_id, a.kind, a.title, a.topic, a.speaker, concat_ws(' / ', a.venue, a.link) as place,
           s.starts_at, s.capacity - s.taken as free,
           (select m.status from activity_signups m where m.session_id = s.id and m.person_id = ${personId} and m.status <> 'cancelled' limit 1) as mine
    from people p
    join org_units h on h.id = p.household_id
    join activities a on a.signup_opens_at <= ${now.toISOString()} and a.signup_closes_at > ${now.toISOString()}
    join activity_sessions s on s.activity_id = a.id and s.starts_at > ${now.toISOString()}
    where p.id = ${personId} and p.household_status = 'bound'
      and ${underScopes('activity', sql`a.id`, sql`h.path`)}
    order by s.starts_at, s.id limit ${limit}`)) as unknown as {
    session_id: string;
    activity_id: string;
    kind: ActivityKind;
    title: string;
    topic: string | null;
    speaker: string | null;
    place: string;
    starts_at: string | Date;
    free: number;
    mine: SignupStatus | null;
  }[];
  return rows.map((r) => ({
    sessionId: r.session_id,
    activityId: r.activity_id,
    kind: r.kind,
    title: r.title,
    topic: r.topic,
    speaker: r.speaker,
    place: r.place,
    startsAt: new Date(r.starts_at),
    free: r.free,
    mine: r.mine,
  }));
}

export interface MySignup {
  signupId: string;
  title: string;
  startsAt: Date;
  endsAt: Date;
  status: SignupStatus;
  checkedIn: boolean;
  rating: number | null;
}

/** 我的报名: live sign-ups the person made, upcoming and of the last 7 days (to rate), soonest first. */
export async function mySignups(db: Queryable, personId: string, now: Date, limit = 10): Promise<MySignup[]> {
  const since = new Date(now.getTime() - 7 * 86_400_000).toISOString();
  const rows = (await db.execute(sql`
    select g.id, a.title, s.starts_at, s.ends_at, g.status, g.checked_in_at is not null as checked_in, g.rating
    from activity_signups g join activity_sessions s on s.id = g.session_id join activities a on a.id = s.activity_id
    where g.person_id = ${personId} and g.status <> 'cancelled' and s.ends_at > ${since}
    order by s.starts_at, g.arrival limit ${limit}`)) as unknown as { id: string; title: string; starts_at: string | Date; ends_at: string | Date; status: SignupStatus; checked_in: boolean; rating: number | null }[];
  return rows.map((r) => ({ signupId: r.id, title: r.title, startsAt: new Date(r.starts_at), endsAt: new Date(r.ends_at), status: r.status, checkedIn: r.checked_in, rating: r.rating }));
}
