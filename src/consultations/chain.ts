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
 * Recomputes the whole chain set-based: every row's hash from its content and its receipt, its
 * link to the row before and no gap in the numbering, that a replacement replaces an earlier
 * ballot of the same voter once, then that the consultation's head is the last row. The hashes
 * are recomputed in two halves and the links alongside, as separate statements: on a pool they
 * run at once, one core each.
 */
export async function verifyChain(db: Queryable, consultationId: string): Promise<ChainCheck> {
  const [head] = (await db.execute(sql`
    select c.ballot_seq as "ballotSeq", c.chain_head as "chainHead",
           (select count(*)::int from ballots where consultation_id = c.id) as rows,
           (select hash from ballots where consultation_id = c.id order by seq desc limit 1) as last
    from consultations c where c.id = ${consultationId}`)) as unknown as { ballotSeq: number; chainHead: string; rows: number; last: string | null }[];
  const rows = head?.rows ?? 0;
  const mid = Math.floor((head?.ballotSeq ?? 0) / 2);
  const hashes = (range: SQL) => sql`
    select min(b.seq) filter (where encode(sha256(convert_to(${contentSql('b')}, 'UTF8')), 'hex') <> b.hash) as hash,
           min(b.seq) filter (where b.receipt <> left(b.hash, ${RECEIPT_LENGTH})) as receipt
    from ballots b where b.consultation_id = ${consultationId} and ${range}`;
  const found = (await Promise.all([
    db.execute(hashes(sql`b.seq <= ${mid}`)),
    db.execute(hashes(sql`b.seq > ${mid}`)),
    db.execute(sql`
      select min(b.seq) filter (where p.seq is null and b.seq > 1) as gap,
             min(b.seq) filter (where coalesce(p.hash, '') <> b.prev_hash and not (p.seq is null and b.seq > 1)) as link
      from ballots b left join ballots p on p.consultation_id = b.consultation_id and p.seq = b.seq - 1
      where b.consultation_id = ${consultationId}`),
    db.execute(sql`
      select min(r.seq) as replaces from ballots r left join ballots o on o.consultation_id = r.consultation_id and o.seq = r.replaces_seq
      where r.consultation_id = ${consultationId} and r.replaces_seq is not null
        and (o.seq is null or o.seq >= r.seq or o.voter_token <> r.voter_token
             or exists (select 1 from ballots d where d.consultation_id = r.consultation_id and d.replaces_seq = r.replaces_seq and d.seq <> r.seq))`),
  ])) as unknown as Record<string, number | null>[][];
  const problems = found.flatMap((rs) => Object.entries(rs[0] ?? {}).filter(([, seq]) => seq !== null).map(([problem, seq]) => ({ seq: Number(seq), problem: problem as ChainProblem })));
  // The first row wrong, and for one row the most telling problem first.
  const order: ChainProblem[] = ['hash', 'link', 'gap', 'receipt', 'replaces'];
  const first = problems.sort((a, b) => a.seq - b.seq || order.indexOf(a.problem) - order.indexOf(b.problem))[0];
  if (first) return { ok: false, rows, first };
  if (head && (head.ballotSeq !== rows || head.chainHead !== (head.last ?? ''))) return { ok: false, rows, first: { seq: rows + 1, problem: 'head' } };
  return { ok: true, rows };
}
