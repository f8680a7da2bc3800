import { fillPlaceholders, sql, type Query, type SQL } from 'drizzle-orm';
import { toQuery } from '../../db/sql.js';
import type { Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { Channel } from '../dialog/events.js';
import type { Reply } from '../dialog/reply.js';
import { reachableChat } from '../outbox/notify.js';
import { OUTBOX_PRIORITY, outboxInsertSelected, queuedFrom, type QueuedMessage } from '../outbox/outbox.js';
import { ActivityError, type ActivityErrorReason } from './errors.js';
import { SHOWN } from './signup-facts.js';
import { underScopes } from '../audience/scopes.js';

/** One sign-up waiting for its seat. */
export interface SeatRequest {
  personId: string;
  participantId: string;
  /** When it was asked (the sign-up's created_at, and what opening hours are checked against). */
  at: Date;
}

/**
 * The messages of a session's sign-ups, one per language and outcome, written out before the
 * claim from the session's facts (`shown`, see signup-facts.ts); `mark` in the waiting text
 * stands for the place in line.
 */
export interface SessionTexts {
  sessionId: string;
  shown: string;
  texts: { locale: Locale; status: 'confirmed' | 'waiting'; payload: Reply; mark?: string }[];
}

export interface SeatClaim {
  signupId: string;
  status: 'confirmed' | 'waiting';
  /** Place in the waiting list (1 = next), when waiting. */
  position?: number;
}

/**
 * Per request: its seat or place; the refusal (closed, outside the area, …); or undefined when
 * nothing was written for it because the participant has a live sign-up already (committed in
 * between, or asked twice in the same batch; the partial unique index backs it), so a double
 * tap is refused, never an error. `stale`: the session's facts are no longer those the texts
 * were written from, and nothing was written at all.
 */
export interface Claimed {
  claims: (SeatClaim | ActivityError | undefined)[];
  stale: boolean;
  messages: QueuedMessage[];
}

/**
 * 占位: the checks, seats or places in line for sign-ups to one session, in arrival order (the
 * order of `requests`), with their messages, in ONE round trip. Two statements travel together:
 * the session's row lock (every change to its seats takes it first, so arrival order is lock
 * order), then one statement whose snapshot is taken once the lock is held, so it sees every
 * earlier sign-up committed: what needs no lock (signup open, the person and participant bound,
 * in one of the activity's scopes, one household), seats while `taken` (confirmed + offered) is
 * under capacity to the first requests (tests/integration/activities: 200 for 50 seats), the
 * sign-up rows, the counter, each waiting one's place (the waiting before them, plus their rank)
 * and their messages, on the person's reachable chats in their language.
 */
export interface SeatOptions {
  /** The sign-up names a child (四点半课堂). */
  withChild?: boolean;
  /** Channels whose messages are written already sent (outboxInsertSelected): the web chat where this process serves it. */
  sentOnCommit?: readonly Channel[];
}

export async function claimSeats(tx: Tx, texts: SessionTexts, requests: readonly SeatRequest[], opts: SeatOptions = {}): Promise<Claimed> {
  const [lock, claim] = seatStatements(texts, requests, opts);
  // Sent together (postgres.js pipelines them on the transaction's connection), run in order.
  const [, rows] = await Promise.all([tx.execute(lock), tx.execute(claim)]);
  return claimedFrom(rows, requests.length);
}

/** claimSeats' two statements (the lock, then the claim). */
function seatStatements(texts: SessionTexts, requests: readonly SeatRequest[], opts: SeatOptions = {}): [SQL, SQL] {
  return [lockStatement(texts.sessionId), claimStatement(texts, askedJson(requests), opts)];
}

/** A session's two statements as text and parameters, for a caller that sends them itself (seat-batch.ts); read the claim's rows with claimedFrom. */
export interface SeatQueries {
  lock: Query;
  claim(requests: readonly SeatRequest[]): Query;
}

/**
 * seatStatements built once for a session's texts, only the requests filled in per claim: the
 * group commit claims the same session hundreds of times in a burst, and building the claim's
 * text anew (drizzle walking the statement, the texts serialised) cost Node about 80 µs a batch.
 */
export function seatQueries(texts: SessionTexts, opts: SeatOptions = {}): SeatQueries {
  const claim = toQuery(claimStatement(texts, sql.placeholder('asked'), opts));
  return {
    lock: toQuery(lockStatement(texts.sessionId)),
    claim: (requests) => ({ sql: claim.sql, params: fillPlaceholders(claim.params, { asked: askedJson(requests) }) }),
  };
}

const askedJson = (requests: readonly SeatRequest[]) => JSON.stringify(requests.map((r, n) => ({ n, person_id: r.personId, participant_id: r.participantId, at: r.at.toISOString() })));

const lockStatement = (sessionId: string) => sql`select 1 from activity_sessions where id = ${sessionId} for update`;

/** The claim, `asked` the requests as JSON (or the placeholder seatQueries fills in). */
function claimStatement({ sessionId, shown, texts }: SessionTexts, asked: unknown, { withChild = false, sentOnCommit = [] }: SeatOptions): SQL {
  return sql`
      with s as (
        select s.id, s.capacity - s.taken as free, s.waiting, s.starts_at, a.id as activity_id, a.kind, a.signup_opens_at, a.signup_closes_at, ${SHOWN} = ${shown} as current
        from activity_sessions s join activities a on a.id = s.activity_id where s.id = ${sessionId}
      ), asked as (
        select * from jsonb_to_recordset(${asked}::jsonb) as r(n int, person_id uuid, participant_id uuid, at timestamptz)
      ), checked as (
        select r.*, case
            when s.id is null then 'not_found'
            when not s.current then 'stale'
            -- The sign-up window (报名时间), and never once the session started; here only, not in Node.
            when r.at < s.signup_opens_at then 'not_yet'
            when r.at >= s.signup_closes_at or r.at >= s.starts_at then 'closed'
            when s.kind = 'after_school' and not ${withChild} then 'child_required'
            when me.id is null or not ${underScopes('activity', sql`s.activity_id`, sql`me.path`)} then 'outside_scope'
            when pa.id is null or pa.household_id is distinct from me.household_id then 'not_household'
          end as refused
        -- A probe of people's key per request (the lateral LIMIT keeps it one): a join planned for
        -- the recordset's 100 estimated rows read every person in the table, twice.
        from asked r left join s on true
        left join lateral (select p.id, p.household_id, h.path from people p join org_units h on h.id = p.household_id where p.id = r.person_id and p.household_status = 'bound' limit 1) me on true
        left join lateral (select p.id, p.household_id from people p where p.id = r.participant_id and p.household_status = 'bound' limit 1) pa on true
      ), fresh as (
        -- A probe of the live-sign-up index per request (the lateral LIMIT keeps it one): an anti
        -- join planned for the recordset's 100 estimated rows hashed every sign-up of the session.
        select distinct on (c.participant_id) c.* from checked c
        left join lateral (select 1 as live from activity_signups g where g.session_id = ${sessionId} and g.participant_id = c.participant_id and g.status <> 'cancelled' limit 1) g on true
        where c.refused is null and g.live is null
        order by c.participant_id, c.n
      ), decided as (
        select f.n, f.person_id, f.participant_id, f.at,
               (case when row_number() over (order by f.n) <= s.free then 'confirmed' else 'waiting' end)::signup_status as status
        from fresh f cross join s
      ), ins as (
        insert into activity_signups (session_id, person_id, participant_id, status, created_at, updated_at)
        select ${sessionId}, d.person_id, d.participant_id, d.status, d.at, d.at from decided d order by d.n
        on conflict (session_id, participant_id) where status <> 'cancelled' do nothing
        returning id, person_id, participant_id, status, arrival
      ), seat as (
        update activity_sessions set taken = taken + (select count(*) from ins where status = 'confirmed')
        where id = ${sessionId} and exists (select 1 from ins where status = 'confirmed')
      ), placed as (
        -- The waiting before them (the session's count, read under its lock: the new rows are not in it), then their rank.
        select d.n, ins.id, ins.person_id, ins.status::text as status,
               case when ins.status = 'waiting'
                    then ((select waiting from s)
                          + row_number() over (partition by ins.status order by ins.arrival))::int end as position
        from ins join decided d on d.participant_id = ins.participant_id
      ), sent as (
        ${outboxInsertSelected(
          sql`
          select channel_identities.id as identity_id, channel_identities.channel, channel_identities.chat_ref,
                 case when t.mark is null then t.payload
                      else jsonb_set(t.payload, '{text}', to_jsonb(replace(t.payload->>'text', t.mark, placed.position::text))) end as payload,
                 ${OUTBOX_PRIORITY.conversation}::smallint as priority,
                 row_number() over (order by placed.n, channel_identities.id) as n
          from placed
          join people on people.id = placed.person_id
          join channel_identities on channel_identities.person_id = people.id
          join jsonb_to_recordset(${JSON.stringify(texts)}::jsonb) as t(locale text, status text, payload jsonb, mark text)
            on t.locale = people.locale::text and t.status = placed.status
          where ${reachableChat}`,
          sentOnCommit,
        )}
      )
      select 'claim' as kind, placed.n, placed.id::text as id, placed.status, placed.position, null::text as channel, null::smallint as priority, null::timestamptz as not_before, null::text as chat_ref from placed
      union all
      select 'refused', checked.n, null, checked.refused, null, null, null, null, null from checked where checked.refused is not null
      union all
      select 'sent', null, sent.id::text, sent.status, null, sent.channel::text, sent.priority, sent.not_before, sent.chat_ref from sent`;
}

/** What a claim statement's rows say, one entry per request. */
export function claimedFrom(rows: unknown, count: number): Claimed {
  const out = rows as unknown as { kind: 'claim' | 'refused' | 'sent'; n: number | null; id: string; status: string | null; position: number | null; channel: string | null; priority: number | null; not_before: string | null; chat_ref: string | null }[];
  const claims: Claimed['claims'] = Array.from({ length: count }, () => undefined);
  let stale = false;
  for (const r of out) {
    if (r.kind === 'claim') claims[r.n!] = r.status === 'waiting' ? { signupId: r.id, status: 'waiting', position: r.position! } : { signupId: r.id, status: 'confirmed' };
    else if (r.kind === 'refused' && r.status === 'stale') stale = true;
    else if (r.kind === 'refused') claims[r.n!] = new ActivityError(r.status as ActivityErrorReason);
  }
  return { claims, stale, messages: queuedFrom(out.filter((r) => r.kind === 'sent')) };
}
