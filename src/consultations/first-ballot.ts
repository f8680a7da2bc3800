import { sql, type Query, type SQL } from 'drizzle-orm';
import { toQuery } from '../../db/sql.js';
import type { Queryable } from '../../db/client.js';
import { contentSql, newNonce, RECEIPT_LENGTH, voterTokenSql } from './chain.js';
import { canonicalChoices } from './rules.js';

const arg = (name: string) => sql.placeholder(name);
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
 * The statement, built once per server key and basis with placeholders: building this CTE with
 * drizzle on every ballot cost more Node CPU than the rest of the ballot's client side
 * (bench/ballots.ts).
 */
function firstBallotStatement(key: string, basis: Basis): Query {
  const name = `${basis}\u0000${key}`;
  let q = statements.get(name);
  if (!q) {
    q = toQuery(
      sql`
    with f as (
      select c.id as consultation_id, c.secret,
             p.household_id,
             ${basis === 'adults' ? sql`'p:' || p.id::text` : sql`'h:' || p.household_id::text`} as voter_key,
             ${basis === 'owners' ? sql`coalesce(round(h.floor_area_m2 * 100), 0)::int` : sql`0`} as weight
      from consultations c
      join people p on p.id = ${arg('personId')}::uuid
      join org_units h on h.id = p.household_id and h.kind = 'household'
      where c.id = ${arg('consultationId')}::uuid and c.basis = ${basis} and c.status = 'open' and c.closes_at > ${arg('at')}::timestamptz
        and p.household_status = 'bound' and p.erased_at is null
        and exists (select 1 from consultation_scopes s join org_units su on su.id = s.org_unit_id where s.consultation_id = c.id and h.path like su.path || '%')
        ${basisCondition[basis]}
        and ${arg('lastChoice')}::int < cardinality(c.options)
        and ${arg('count')}::int <= case when c.multiple then c.max_choices else 1 end
      for key share of c),
    t as (
      select f.*, ${voterTokenSql(key, sql`f.consultation_id::text`, sql`f.voter_key`)} as voter_token,
             ${arg('choices')}::smallint[] as choices, 'chat'::text as via, null::bigint as replaces_id,
             ${arg('at')}::timestamptz as cast_at, ${arg('nonce')}::text as nonce
      from f),
    h as (select t.*, ${contentSql('t')} as content_hash from t),
    v as (
      insert into consultation_voters (consultation_id, voter_key, via, person_id, household_id, weight, voter_token, first_at, last_at)
      select consultation_id, voter_key, via, ${arg('personId')}::uuid, household_id, weight, case when secret then null else voter_token end, cast_at, cast_at from h
      on conflict do nothing returning consultation_id),
    b as (
      insert into ballots (consultation_id, voter_token, choices, weight, via, replaces_id, cast_at, nonce, content_hash, receipt)
      select h.consultation_id, h.voter_token, h.choices, h.weight, h.via, null, h.cast_at, h.nonce, h.content_hash, left(h.content_hash, ${RECEIPT_LENGTH}::int) from h join v using (consultation_id)
      returning receipt)
    select receipt from b`,
    );
    statements.set(name, q);
  }
  return q;
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
 */
export async function castFirstBallot(
  db: Queryable,
  key: string,
  consultationId: string,
  personId: string,
  rawChoices: readonly number[],
  now: Date,
): Promise<{ receipt: string; choices: number[] } | undefined> {
  if (rawChoices.length === 0 || rawChoices.some((i) => !Number.isInteger(i) || i < 0) || new Set(rawChoices).size !== rawChoices.length) return undefined;
  const choices = canonicalChoices(rawChoices);
  const basis = await basisOf(db, consultationId);
  if (!basis) return undefined;
  const [row] = (await db._.session.prepareQuery(firstBallotStatement(key, basis), undefined, undefined, false).execute({
    consultationId,
    personId,
    at: now.toISOString(),
    lastChoice: choices[choices.length - 1]!,
    count: choices.length,
    choices: `{${choices.join(',')}}`,
    nonce: newNonce(),
  })) as { receipt: string }[];
  return row ? { receipt: row.receipt, choices } : undefined;
}
