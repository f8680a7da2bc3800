import { createHash, createHmac } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';

/**
 * The ballot log as a hash chain: each row's `hash` is sha256 over its content and the previous
 * row's hash, so changing, dropping or reordering any row breaks every hash after it. The same
 * content string is built here (when a ballot is cast) and in SQL (`contentSql`, when the chain
 * is verified set-based), so the verifier recomputes exactly what the writer hashed.
 */

export interface BallotContent {
  consultationId: string;
  seq: number;
  voterToken: string;
  /** Canonical order (rules.ts canonicalChoices). */
  choices: readonly number[];
  weight: number;
  via: 'chat' | 'paper' | 'proxy';
  replacesSeq: number | null;
  castAt: Date;
  prevHash: string;
}

/** Characters of the hash a voter keeps as their receipt (回执). */
export const RECEIPT_LENGTH = 12;

export function ballotContent(b: BallotContent): string {
  return [b.consultationId, b.seq, b.voterToken, b.choices.join(','), b.weight, b.via, b.replacesSeq ?? '', b.castAt.getTime(), b.prevHash].join('|');
}

export const ballotHash = (b: BallotContent) => createHash('sha256').update(ballotContent(b), 'utf8').digest('hex');
export const receiptOf = (hash: string) => hash.slice(0, RECEIPT_LENGTH);

/**
 * The pseudonym of a voter in one consultation: HMAC(server key, consultation + voter key). The
 * same voter's ballots share it (so a change replaces the earlier one); without the key nobody
 * can tell whose it is.
 */
export const voterToken = (key: string, consultationId: string, voterKey: string) => createHmac('sha256', key).update(`${consultationId}\u0000${voterKey}`).digest('hex').slice(0, 32);

/** `ballotContent` in SQL over a row alias `b` of `ballots`. */
export const contentSql = (b: string): SQL =>
  sql.raw(
    `${b}.consultation_id::text || '|' || ${b}.seq || '|' || ${b}.voter_token || '|' || array_to_string(${b}.choices, ',') || '|' || ${b}.weight || '|' || ${b}.via || '|' || coalesce(${b}.replaces_seq::text, '') || '|' || (extract(epoch from ${b}.cast_at) * 1000)::bigint || '|' || ${b}.prev_hash`,
  );

export type ChainProblem = 'hash' | 'link' | 'gap' | 'receipt' | 'replaces' | 'head';

export interface ChainCheck {
  ok: boolean;
  rows: number;
  /** The first row that does not match, and how. */
  first?: { seq: number; problem: ChainProblem };
}

/**
 * Recomputes the whole chain in one set-based statement: every row's hash from its content, its
 * link to the row before, no gap in the numbering, its receipt, that a replacement replaces an
 * earlier ballot of the same voter once; then that the consultation's head is the last row.
 */
export async function verifyChain(db: Queryable, consultationId: string): Promise<ChainCheck> {
  const [bad] = (await db.execute(sql`
    with b as (
      select b.seq, b.hash, b.prev_hash, b.receipt, b.replaces_seq, b.voter_token,
             encode(sha256(convert_to(${contentSql('b')}, 'UTF8')), 'hex') as calc,
             lag(b.hash) over w as prior, lag(b.seq) over w as prior_seq
      from ballots b where b.consultation_id = ${consultationId}
      window w as (order by b.seq)
    ), replaced as (
      select r.seq, bool_or(o.seq is null or o.seq >= r.seq or o.voter_token <> r.voter_token) or count(*) over (partition by r.replaces_seq) > 1 as wrong
      from ballots r left join ballots o on o.consultation_id = r.consultation_id and o.seq = r.replaces_seq
      where r.consultation_id = ${consultationId} and r.replaces_seq is not null
      group by r.seq, r.replaces_seq
    )
    select seq, problem from (
      select seq, case when calc <> hash then 'hash' when prev_hash <> coalesce(prior, '') then 'link'
                       when seq <> coalesce(prior_seq, 0) + 1 then 'gap' when receipt <> left(hash, ${RECEIPT_LENGTH}) then 'receipt' end as problem
      from b
      union all
      select seq, 'replaces' from replaced where wrong
    ) x where problem is not null order by seq limit 1`)) as unknown as { seq: number; problem: ChainProblem }[];
  const [head] = (await db.execute(sql`
    select c.ballot_seq as "ballotSeq", c.chain_head as "chainHead",
           (select count(*)::int from ballots where consultation_id = c.id) as rows,
           (select hash from ballots where consultation_id = c.id order by seq desc limit 1) as last
    from consultations c where c.id = ${consultationId}`)) as unknown as { ballotSeq: number; chainHead: string; rows: number; last: string | null }[];
  const rows = head?.rows ?? 0;
  if (bad) return { ok: false, rows, first: { seq: Number(bad.seq), problem: bad.problem } };
  if (head && (head.ballotSeq !== rows || head.chainHead !== (head.last ?? ''))) return { ok: false, rows, first: { seq: rows + 1, problem: 'head' } };
  return { ok: true, rows };
}
