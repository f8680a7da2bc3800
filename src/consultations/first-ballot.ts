import { fillPlaceholders, sql, type Query, type SQL } from 'drizzle-orm';
import { toQuery } from '../../db/sql.js';
import type { Queryable } from '../../db/client.js';
import { settledOrThrow } from '../../db/pipelined-tx.js';
import { createGroupCommit, sendQuery } from '../work/group-commit.js';
import { contentSql, newNonce, RECEIPT_LENGTH, voterTokenSql } from './chain.js';
import { canonicalChoices } from './rules.js';
import { underScopes } from '../audience/scopes.js';

const statements = new Map<string, Query>();

type Basis = 'adults' | 'households' | 'owners';

/**
 * Each basis's own condition on the voter. The statement is made per basis so that it reads only
 * the tables its basis needs: a households vote never touches adult_declarations or
 * audience_memberships, two relations (and their indexes) fewer to lock and plan per ballot.
 */
const basisCondition: Record<Basis, SQL> = {
  households: sql``,
  adults: sql`and exists (select 1 from adult_declarations a where a.person_id = p.id and a.adult is true)`,
  owners: sql`and exists (select 1 from audience_memberships am where am."group" = 'owners' and am.household_id = h.id)`,
};

/**
 * The statement, built once per server key and basis, for any number of first ballots (one
 * parameter: the asks as JSON, `n` their order): building this CTE with drizzle on every ballot
 * cost more Node CPU than the rest of the ballot's client side (bench/ballots.ts). People and
 * homes are probed by key per ask (LATERAL … LIMIT 1): a join planned for the recordset's
 * estimated 100 rows would read every person. Two asks with one voter key (two members of a
 * household, a double tap) leave the later one unstored: it takes the ordinary path, which
 * finds the first.
 */
function firstBallotStatement(key: string, basis: Basis): Query {
  const name = `${basis}\u0000${key}`;
  let q = statements.get(name);
  if (!q) {
    q = toQuery(firstBallotSql(key, basis, sql.placeholder('asks')));
    statements.set(name, q);
  }
  return q;
}

/**
 * The statement itself, `asks` the JSON parameter (a placeholder in the one built once). A secret
 * vote's voter row gets the vote's opening time, not the ballot's (commands.ts voterRowTime).
 */
function firstBallotSql(key: string, basis: Basis, asks: unknown): SQL {
  return sql`
    with r as (
      select * from jsonb_to_recordset(${asks}::jsonb)
        as r(n int, consultation_id uuid, person_id uuid, at timestamptz, choices smallint[], last_choice int, count int, nonce text)),
    f as (
      select r.n, c.id as consultation_id, c.secret, case when c.secret then coalesce(c.opened_at, c.created_at) else r.at end as voter_at, p.id as person_id, p.household_id,
             ${basis === 'adults' ? sql`'p:' || p.id::text` : sql`'h:' || p.household_id::text`} as voter_key,
             ${basis === 'owners' ? sql`coalesce(round(h.floor_area_m2 * 100), 0)::int` : sql`0`} as weight,
             r.choices, r.at as cast_at, r.nonce
      from r
      join consultations c on c.id = r.consultation_id
      cross join lateral (select p.id, p.household_id from people p where p.id = r.person_id and p.household_status = 'bound' and p.erased_at is null limit 1) p
      cross join lateral (select h.id, h.path, h.floor_area_m2 from org_units h where h.id = p.household_id and h.kind = 'household' limit 1) h
      where c.basis = ${basis} and c.status = 'open' and c.closes_at > r.at
        and ${underScopes('consultation', sql`c.id`, sql`h.path`)}
        ${basisCondition[basis]}
        and r.last_choice < cardinality(c.options)
        and r.count <= case when c.multiple then c.max_choices else 1 end
      for key share of c),
    d as (select distinct on (consultation_id, voter_key) * from f order by consultation_id, voter_key, n),
    t as (select d.*, ${voterTokenSql(key, sql`d.consultation_id::text`, sql`d.voter_key`)} as voter_token, 'chat'::text as via, null::bigint as replaces_id from d),
    h as (select t.*, ${contentSql('t')} as content_hash from t),
    v as (
      insert into consultation_voters (consultation_id, voter_key, via, person_id, household_id, weight, voter_token, first_at, last_at)
      select consultation_id, voter_key, via, person_id, household_id, weight, case when secret then null else voter_token end, voter_at, voter_at from h
      on conflict do nothing returning consultation_id, voter_key),
    b as (
      insert into ballots (consultation_id, voter_token, choices, weight, via, replaces_id, cast_at, nonce, content_hash, receipt)
      select h.consultation_id, h.voter_token, h.choices, h.weight, h.via, null, h.cast_at, h.nonce, h.content_hash, left(h.content_hash, ${RECEIPT_LENGTH}::int) from h join v using (consultation_id, voter_key)
      returning consultation_id, voter_token, receipt)
    select h.n, b.receipt from b join h using (consultation_id, voter_token)`;
}

/**
 * Consultations' bases, read once per process: a basis is fixed when the consultation is made.
 * Were one ever stale, the statement (which checks `c.basis`) would store nothing and the caller
 * would take the ordinary path, so it can cost a ballot time, never a wrong decision.
 */
const bases = new Map<string, Basis>();
const MAX_BASES = 10_000;

async function basisOf(db: Queryable, consultationId: string): Promise<Basis | undefined> {
  const known = bases.get(consultationId);
  if (known) return known;
  const [row] = (await db.execute(sql`select basis from consultations where id = ${consultationId}`)) as unknown as { basis: Basis }[];
  if (!row) return undefined;
  if (bases.size >= MAX_BASES) bases.clear();
  bases.set(consultationId, row.basis);
  return row.basis;
}

/** One first ballot asked for: by whom, in which consultation (of which basis), the canonical choices. */
interface FirstBallotAsk {
  key: string;
  basis: Basis;
  consultationId: string;
  personId: string;
  choices: number[];
  at: Date;
  nonce: string;
}

type Stored = { receipt: string; choices: number[] } | undefined;

/** The asks as the statement's one parameter, `n` their index in `asks`. */
function asksParam(asks: readonly FirstBallotAsk[], indexes: readonly number[]): string {
  return JSON.stringify(
    indexes.map((n) => {
      const a = asks[n]!;
      return { n, consultation_id: a.consultationId, person_id: a.personId, at: a.at.toISOString(), choices: a.choices, last_choice: a.choices[a.choices.length - 1], count: a.choices.length, nonce: a.nonce };
    }),
  );
}

/**
 * The ask, or undefined where no first ballot can be stored from it whatever the database says
 * (no choice, a repeated or negative one, an unknown consultation): the caller's ordinary path
 * then gives the reason.
 */
async function askFor(db: Queryable, key: string, consultationId: string, personId: string, rawChoices: readonly number[], now: Date): Promise<FirstBallotAsk | undefined> {
  if (rawChoices.length === 0 || rawChoices.some((i) => !Number.isInteger(i) || i < 0) || new Set(rawChoices).size !== rawChoices.length) return undefined;
  const basis = await basisOf(db, consultationId);
  if (!basis) return undefined;
  return { key, basis, consultationId, personId, choices: canonicalChoices(rawChoices), at: now, nonce: newNonce() };
}

/**
 * A person's first chat ballot in ONE statement: the voter's facts, the consultation held open
 * (FOR KEY SHARE, which closing waits for), the voter row (the one-per-voter key) and the ballot
 * with its token and content hash, all computed in PostgreSQL. A vote's ballots arrive in a
 * burst when it opens (everyone told at once), and a read of the facts, a decision in Node and
 * then the write cost three times the CPU of this statement (bench/ballots.ts).
 *
 * It stores only what `eligibility` (rules.ts) would admit and `checkChoices` would accept, and
 * stays stricter where the two could disagree: anything it does not store — not eligible, bad
 * choices, a second ballot, a closed vote — returns undefined, and the caller takes the ordinary
 * path, where the pure rules decide and give the person the reason (commands.ts castBallot).
 * tests/integration/consultations/first-ballot.test.ts holds the two paths to the same answers.
 *
 * With `batch` (the app's, `createFirstBallots`) the ballot is stored by the group commit, with
 * the first ballots cast at the same moment, and is committed when this resolves, before the
 * caller's transaction; without it, by `db` itself.
 */
export async function castFirstBallot(
  db: Queryable,
  key: string,
  consultationId: string,
  personId: string,
  rawChoices: readonly number[],
  now: Date,
  batch?: FirstBallots,
): Promise<Stored> {
  const ask = await askFor(db, key, consultationId, personId, rawChoices, now);
  if (!ask) return undefined;
  if (batch) return batch.cast(ask);
  // Built afresh here (the app casts through the batch, which sends the statement built once).
  const [row] = (await db.execute(firstBallotSql(key, ask.basis, asksParam([ask], [0])))) as unknown as { receipt: string }[];
  return row ? { receipt: row.receipt, choices: ask.choices } : undefined;
}

/** First ballots group-committed (src/work/group-commit.ts): one statement per server key and basis in a batch. */
export interface FirstBallots {
  cast(ask: FirstBallotAsk): Promise<Stored>;
  close(): Promise<void>;
}

/** Most first ballots in one batch. */
const MAX_BATCH = 200;

/**
 * 组提交 of first ballots. When a vote opens, everyone is told at once and the ballots arrive in a
 * burst; stored one statement each, every ballot paid its own statement, commit and WAL flush,
 * and took the consultation's row lock (FOR KEY SHARE) again, a new multixact on that one hot row
 * per ballot. A batch stores the ballots that arrived while the one before ran in one statement
 * (two batches in flight: their locks do not conflict), so that cost is shared.
 */
export function createFirstBallots(deps: { url: string }): FirstBallots {
  const group = createGroupCommit<FirstBallotAsk, Stored>({
    url: deps.url,
    // Closing takes the consultation's row lock; waiting here long means something is stuck.
    settings: { lock_timeout: '10s' },
    maxBatch: MAX_BATCH,
    // Two in flight measured better than one (bench/ballots-rate.ts, interleaved: 0.61 and 0.58 against 0.55 and 0.54).
    inFlight: 2,
    ordered: false,
    async run(conn, asks) {
      const byStatement = new Map<string, number[]>();
      asks.forEach((a, i) => {
        const k = `${a.basis}\u0000${a.key}`;
        byStatement.set(k, [...(byStatement.get(k) ?? []), i]);
      });
      const send = (indexes: number[]) => {
        const a = asks[indexes[0]!]!;
        const q = firstBallotStatement(a.key, a.basis);
        return sendQuery(conn, { sql: q.sql, params: fillPlaceholders(q.params, { asks: asksParam(asks, indexes) }) });
      };
      const groups = [...byStatement.values()];
      // Several statements (votes of different bases at once) commit together or not at all, so a
      // batch that fails and is tried ask by ask has stored nothing (a failed statement makes the
      // pipelined COMMIT a rollback).
      const many = groups.length > 1;
      const sent = [...(many ? [conn.unsafe('begin').execute()] : []), ...groups.map(send), ...(many ? [conn.unsafe('commit').execute()] : [])];
      const results = (await settledOrThrow(sent)) as unknown as { n?: number; receipt?: string }[][];
      const answers: Stored[] = asks.map(() => undefined);
      for (const rows of results) for (const row of rows) if (row.n !== undefined) answers[row.n] = { receipt: row.receipt!, choices: asks[row.n]!.choices };
      return answers;
    },
  });
  return { cast: (ask) => group.submit(ask), close: () => group.close() };
}
