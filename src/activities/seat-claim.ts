import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { outboxInsertChosen, queuedFrom, type ChosenItem, type OutboxItem, type QueuedMessage } from '../outbox/outbox.js';

/** The messages of both outcomes of a sign-up, written out before its seat is claimed. */
export interface SeatOutcomes {
  confirmed: readonly OutboxItem[];
  /** The waiting-list message; `mark` in its text stands for the place in line. */
  waiting: readonly OutboxItem[];
  mark: string;
}

/** One sign-up waiting for its seat, with the messages of both outcomes already written out. */
export interface SeatRequest extends SeatOutcomes {
  personId: string;
  /** When it was asked (the sign-up's created_at). */
  at: Date;
  participantId: string;
}

export interface SeatClaim {
  signupId: string;
  status: 'confirmed' | 'waiting';
  /** Place in the waiting list (1 = next), when waiting. */
  position?: number;
}

/**
 * 占位: seats or places in line for sign-ups to one session, in arrival order (the order of
 * `requests`), with their messages, in ONE round trip. Two statements travel together: the
 * session's row lock (every change to its seats takes it first, so arrival order is lock order),
 * then one statement whose snapshot is taken once the lock is held, so it sees every earlier
 * sign-up committed: seats while `taken < capacity` (rules.ts seatFor) to the first requests, the
 * sign-up rows, the counter, each waiting one's place (the waiting before them, plus their rank)
 * and the outbox rows of each outcome.
 *
 * A request gets undefined when nothing was written for it: the session is gone, or the
 * participant has a live sign-up already (committed in between, or asked twice in the same
 * batch; the partial unique index backs it), so a double tap is refused, never an error.
 */
export async function claimSeats(tx: Tx, sessionId: string, requests: readonly SeatRequest[]): Promise<Claimed> {
  const [lock, claim] = seatStatements(sessionId, requests);
  // Sent together (postgres.js pipelines them on the transaction's connection), run in order.
  const [, rows] = await Promise.all([tx.execute(lock), tx.execute(claim)]);
  return claimedFrom(rows, requests.length);
}

export interface Claimed {
  claims: (SeatClaim | undefined)[];
  messages: QueuedMessage[];
}

/** claimSeats' two statements (the lock, then the claim), for a caller that sends them itself (seat-batch.ts); read the claim's rows with claimedFrom. */
export function seatStatements(sessionId: string, requests: readonly SeatRequest[]): [SQL, SQL] {
  const asked = JSON.stringify(requests.map((r, n) => ({ n, person_id: r.personId, participant_id: r.participantId, at: r.at.toISOString() })));
  const items: ChosenItem[] = requests.flatMap((r, n) => [
    ...r.confirmed.map((m) => ({ ...m, variant: `${n}:confirmed` })),
    ...r.waiting.map((m) => ({ ...m, variant: `${n}:waiting`, mark: r.mark })),
  ]);
  return [
    sql`select 1 from activity_sessions where id = ${sessionId} for update`,
    sql`
      with s as (
        select id, capacity - taken as free from activity_sessions where id = ${sessionId}
      ), asked as (
        select * from jsonb_to_recordset(${asked}::jsonb) as r(n int, person_id uuid, participant_id uuid, at timestamptz)
      ), fresh as (
        -- A probe of the live-sign-up index per request (the lateral LIMIT keeps it one): an anti
        -- join planned for the recordset's 100 estimated rows hashed every sign-up of the session.
        select distinct on (a.participant_id) a.* from asked a
        left join lateral (select 1 as live from activity_signups g where g.session_id = ${sessionId} and g.participant_id = a.participant_id and g.status <> 'cancelled' limit 1) g on true
        where g.live is null
        order by a.participant_id, a.n
      ), decided as (
        select f.n, f.person_id, f.participant_id, f.at,
               (case when row_number() over (order by f.n) <= s.free then 'confirmed' else 'waiting' end)::signup_status as status
        from fresh f cross join s
      ), ins as (
        insert into activity_signups (session_id, person_id, participant_id, status, created_at, updated_at)
        select ${sessionId}, d.person_id, d.participant_id, d.status, d.at, d.at from decided d order by d.n
        on conflict (session_id, participant_id) where status <> 'cancelled' do nothing
        returning id, participant_id, status, arrival
      ), seat as (
        update activity_sessions set taken = taken + (select count(*) from ins where status = 'confirmed')
        where id = ${sessionId} and exists (select 1 from ins where status = 'confirmed')
      ), placed as (
        -- The new rows are not in this statement's snapshot: the waiting before them, then their rank.
        select d.n, ins.id, ins.status::text as status,
               case when ins.status = 'waiting'
                    then ((select count(*) from activity_signups w where w.session_id = ${sessionId} and w.status = 'waiting')
                          + row_number() over (partition by ins.status order by ins.arrival))::int end as position
        from ins join decided d on d.participant_id = ins.participant_id
      ), sent as (
        ${outboxInsertChosen(items, { from: sql`placed`, chosen: sql`placed.n || ':' || placed.status`, fill: sql`placed.position::text` })}
      )
      select 'claim' as kind, placed.n, placed.id::text as id, placed.status, placed.position, null::text as channel, null::smallint as priority, null::timestamptz as not_before from placed
      union all
      select 'sent', null, sent.id::text, null, null, sent.channel::text, sent.priority, sent.not_before from sent`,
  ];
}

/** The seats and messages a claim statement's rows say were written, one entry per request. */
export function claimedFrom(rows: unknown, count: number): Claimed {
  const out = rows as unknown as { kind: 'claim' | 'sent'; n: number | null; id: string; status: 'confirmed' | 'waiting' | null; position: number | null; channel: string | null; priority: number | null; not_before: string | null }[];
  const claims: (SeatClaim | undefined)[] = Array.from({ length: count }, () => undefined);
  for (const r of out) {
    if (r.kind !== 'claim') continue;
    claims[r.n!] = r.status === 'waiting' ? { signupId: r.id, status: 'waiting', position: r.position! } : { signupId: r.id, status: 'confirmed' };
  }
  return { claims, messages: queuedFrom(out.filter((r) => r.kind === 'sent')) };
}
