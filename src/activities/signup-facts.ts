import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { reachableChat, type Reach } from '../outbox/notify.js';
import { ActivityError } from './errors.js';
import type { ActivityKind } from './rules.js';
import { signupOpen } from './rules.js';

/** What a sign-up needs to know before its seat is claimed: the session as shown, and who is told where. */
export interface SignupFacts {
  sessionId: string;
  startsAt: Date;
  activity: { id: string; kind: ActivityKind; title: string; venue: string | null; link: string | null };
  /** The person's reachable chats, ordered by identity (src/outbox/notify.ts messagesFor). */
  reach: Reach[];
}

/** One sign-up to check: who, for whom, for which session, asked when. */
export interface SignupAsk {
  sessionId: string;
  personId: string;
  participantId: string;
  /** A 四点半课堂 child's record comes with it. */
  withChild: boolean;
  at: Date;
}

type PersonFacts = { id: string; household_id: number | null; in_scope: boolean; signed_up: boolean };
type FactsRow = {
  starts_at: string | null;
  activity_id: string;
  kind: ActivityKind;
  title: string;
  venue: string | null;
  link: string | null;
  signup_opens_at: string;
  signup_closes_at: string;
  people: PersonFacts[];
  reach: Reach[];
};

/**
 * Everything a sign-up checks that needs no lock, for many sign-ups in ONE statement (one row
 * each, in order; the group commit reads a batch at a time, src/activities/seat-batch.ts): the
 * session and its activity, the person and participant (bound, in one of the activity's scopes,
 * one household, no live sign-up yet — the claim checks that again under the lock, and the
 * partial unique index backs it) and the person's chats. Each ask gets its facts or the typed
 * ActivityError that refuses it.
 */
export async function signupFactsMany(q: Queryable, asks: readonly SignupAsk[]): Promise<(SignupFacts | ActivityError)[]> {
  if (asks.length === 0) return [];
  const asked = JSON.stringify(asks.map((a, n) => ({ n, session_id: a.sessionId, person_id: a.personId, participant_id: a.participantId })));
  const rows = (await q.execute(sql`
    select s.starts_at, a.id as activity_id, a.kind, a.title, a.venue, a.link, a.signup_opens_at, a.signup_closes_at,
      coalesce((
        select json_agg(json_build_object('id', p.id, 'household_id', p.household_id,
          'in_scope', exists (select 1 from activity_scopes sc join org_units su on su.id = sc.org_unit_id join org_units h on h.id = p.household_id
                              where sc.activity_id = a.id and h.path like su.path || '%'),
          'signed_up', exists (select 1 from activity_signups g where g.session_id = s.id and g.participant_id = p.id and g.status <> 'cancelled')))
        from people p where p.id in (r.person_id, r.participant_id) and p.household_status = 'bound'), '[]') as people,
      coalesce((
        select json_agg(json_build_object('personId', people.id, 'locale', people.locale, 'id', channel_identities.id, 'channel', channel_identities.channel, 'chatRef', channel_identities.chat_ref) order by channel_identities.id)
        from people join channel_identities on channel_identities.person_id = people.id
        where people.id = r.person_id and ${reachableChat}), '[]') as reach
    from jsonb_to_recordset(${asked}::jsonb) as r(n int, session_id uuid, person_id uuid, participant_id uuid)
    left join activity_sessions s on s.id = r.session_id
    left join activities a on a.id = s.activity_id
    order by r.n`)) as unknown as FactsRow[];
  return asks.map((ask, i) => checked(rows[i]!, ask));
}

/** signupFactsMany for one sign-up, a refusal thrown. */
export async function signupFacts(q: Queryable, ask: SignupAsk): Promise<SignupFacts> {
  const [facts] = await signupFactsMany(q, [ask]);
  if (facts instanceof ActivityError) throw facts;
  return facts!;
}

function checked(row: FactsRow, { sessionId, personId, participantId, withChild, at }: SignupAsk): SignupFacts | ActivityError {
  if (row.starts_at === null) return new ActivityError('not_found');
  const startsAt = new Date(row.starts_at);
  const open = signupOpen({ signupOpensAt: new Date(row.signup_opens_at), signupClosesAt: new Date(row.signup_closes_at) }, { startsAt }, at);
  if (open !== 'open') return new ActivityError(open);
  if (row.kind === 'after_school' && !withChild) return new ActivityError('child_required');
  const me = row.people.find((p) => p.id === personId);
  if (!me || !me.in_scope) return new ActivityError('outside_scope');
  const participant = participantId === personId ? me : row.people.find((p) => p.id === participantId);
  if (!participant || participant.household_id !== me.household_id) return new ActivityError('not_household');
  if (participant.signed_up) return new ActivityError('already_signed_up');
  return { sessionId, startsAt, activity: { id: row.activity_id, kind: row.kind, title: row.title, venue: row.venue, link: row.link }, reach: row.reach };
}
