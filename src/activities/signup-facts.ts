import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
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

type PersonFacts = { id: string; household_id: number | null; in_scope: boolean; signed_up: boolean };

/**
 * Everything a sign-up checks that needs no lock, in ONE statement (it used to be three round
 * trips: the session, the person's scope and household, then their chats for the message): the
 * session and its activity, the person and participant (bound, in one of the activity's scopes,
 * one household, no live sign-up yet — the partial unique index backs that against a double tap
 * racing it) and the person's chats. Refusals are typed ActivityErrors.
 */
export async function signupFacts(
  tx: Tx,
  { sessionId, personId, participantId, withChild }: { sessionId: string; personId: string; participantId: string; withChild: boolean },
  now: Date,
): Promise<SignupFacts> {
  const [row] = (await tx.execute(sql`
    select s.starts_at, a.id as activity_id, a.kind, a.title, a.venue, a.link, a.signup_opens_at, a.signup_closes_at,
      coalesce((
        select json_agg(json_build_object('id', p.id, 'household_id', p.household_id,
          'in_scope', exists (select 1 from activity_scopes sc join org_units su on su.id = sc.org_unit_id join org_units h on h.id = p.household_id
                              where sc.activity_id = a.id and h.path like su.path || '%'),
          'signed_up', exists (select 1 from activity_signups g where g.session_id = s.id and g.participant_id = p.id and g.status <> 'cancelled')))
        from people p where p.id in (${personId}, ${participantId}) and p.household_status = 'bound'), '[]') as people,
      coalesce((
        select json_agg(json_build_object('personId', people.id, 'locale', people.locale, 'id', channel_identities.id, 'channel', channel_identities.channel, 'chatRef', channel_identities.chat_ref) order by channel_identities.id)
        from people join channel_identities on channel_identities.person_id = people.id
        where people.id = ${personId} and ${reachableChat}), '[]') as reach
    from activity_sessions s join activities a on a.id = s.activity_id
    where s.id = ${sessionId}`)) as unknown as {
    starts_at: string;
    activity_id: string;
    kind: ActivityKind;
    title: string;
    venue: string | null;
    link: string | null;
    signup_opens_at: string;
    signup_closes_at: string;
    people: PersonFacts[];
    reach: Reach[];
  }[];
  if (!row) throw new ActivityError('not_found');
  const startsAt = new Date(row.starts_at);
  const open = signupOpen({ signupOpensAt: new Date(row.signup_opens_at), signupClosesAt: new Date(row.signup_closes_at) }, { startsAt }, now);
  if (open !== 'open') throw new ActivityError(open);
  if (row.kind === 'after_school' && !withChild) throw new ActivityError('child_required');
  const me = row.people.find((p) => p.id === personId);
  if (!me || !me.in_scope) throw new ActivityError('outside_scope');
  const participant = participantId === personId ? me : row.people.find((p) => p.id === participantId);
  if (!participant || participant.household_id !== me.household_id) throw new ActivityError('not_household');
  if (participant.signed_up) throw new ActivityError('already_signed_up');
  return { sessionId, startsAt, activity: { id: row.activity_id, kind: row.kind, title: row.title, venue: row.venue, link: row.link }, reach: row.reach };
}
