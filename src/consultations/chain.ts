import { createHash, createHmac, randomBytes } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Queryable, Tx } from '../../db/client.js';
import type { JobRef } from '../work/unit.js';

/**
 * The ballot log as a hash chain, in two steps so that casting never queues behind the chain:
 *
 * 1. A ballot is written in its voter's transaction with `contentHash` = sha256 of its content
 *    (consultation, voter token, choices, weight, way, the ballot it replaces, time, a random
 *    nonce); the first characters are the voter's receipt (回执). Ballots of one consultation
 *    commit side by side, like any insert.
 * 2. The linker (`linkBallots`, after commit as a job, and always at closing) takes the
 *    consultation's lock and appends the unlinked ballots to the chain: `seq` = next number,
 *    `hash` = sha256(prevHash | seq | contentHash). Changing, dropping or reordering any row then
 *    breaks every hash after it.
 *
 * The same strings are built here and in SQL (`contentSql`, `linkSql`), so `verifyChain`
 * recomputes set-based exactly what was hashed.
 */

export interface BallotContent {
  consultationId: string;
  voterToken: string;
  /** Canonical order (rules.ts canonicalChoices). */
  choices: readonly number[];
  weight: number;
  via: 'chat' | 'paper' | 'proxy';
  replacesId: number | null;
  castAt: Date;
  nonce: string;
}

/** Characters of the content hash a voter keeps as their receipt. */
export const RECEIPT_LENGTH = 12;

export function ballotContent(b: BallotContent): string {
  return [b.consultationId, b.voterToken, b.choices.join(','), b.weight, b.via, b.replacesId ?? '', b.castAt.getTime(), b.nonce].join('|');
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
export const contentHash = (b: BallotContent) => sha256(ballotContent(b));
export const linkHash = (prevHash: string, seq: number, content: string) => sha256(`${prevHash}|${seq}|${content}`);
export const receiptOf = (hash: string) => hash.slice(0, RECEIPT_LENGTH);
export const newNonce = () => randomBytes(8).toString('hex');

/**
 * The pseudonym of a voter in one consultation: HMAC(server key, consultation + voter key). The
 * same voter's ballots share it (so a change replaces the earlier one); without the key nobody
 * can tell whose it is.
 */
export const voterToken = (key: string, consultationId: string, voterKey: string) => createHmac('sha256', key).update(`${consultationId}\u0000${voterKey}`).digest('hex').slice(0, 32);

/**
 * HMAC-SHA256 as PostgreSQL's built-in sha256 computes it (RFC 2104, no pgcrypto, which the
 * embedded server may lack): the key's inner and outer pads are made here once per key, and
 * `voterTokenSql` hashes (consultation, voter key) with them so a ballot can be written in one
 * statement before Node knows the voter key. Equal to `voterToken` (tests/integration/consultations).
 */
const padsByKey = new Map<string, { ipad: string; opad: string }>();
/** The key's HMAC inner and outer pads, as hex. */
export function hmacPads(key: string): { ipad: string; opad: string } {
  let pads = padsByKey.get(key);
  if (!pads) {
    let k = Buffer.from(key, 'utf8');
    if (k.length > 64) k = createHash('sha256').update(k).digest();
    const block = Buffer.alloc(64);
    k.copy(block);
    pads = { ipad: Buffer.from(block.map((b) => b ^ 0x36)).toString('hex'), opad: Buffer.from(block.map((b) => b ^ 0x5c)).toString('hex') };
    padsByKey.set(key, pads);
  }
  return pads;
}

/** `voterToken(key, consultation, voterKey)` in SQL over two text expressions. */
export const voterTokenSql = (key: string, consultationId: SQL, voterKey: SQL): SQL => {
  const { ipad, opad } = hmacPads(key);
  return sql`left(encode(sha256(decode(${opad}::text, 'hex') || sha256(decode(${ipad}::text, 'hex') || convert_to(${consultationId}, 'UTF8') || '\\x00'::bytea || convert_to(${voterKey}, 'UTF8'))), 'hex'), 32)`;
};

/**
 * `contentHash` and `linkHash` in SQL over a row alias of `ballots`. Verification runs these on
 * every row, so they are written for speed: one concat_ws instead of a chain of ||, the
 * consultation id as a constant where the caller knows it, and the time in ms from the float
 * epoch, rounded (cast_at comes from a JS Date, whole ms, so it is exact) instead of numeric.
 */
export const contentSql = (b: string, consultationId?: string): SQL =>
  sql`encode(sha256(convert_to(concat_ws('|', ${consultationId === undefined ? sql.raw(`${b}.consultation_id::text`) : sql`${consultationId}::text`}, ${sql.raw(`${b}.voter_token, array_to_string(${b}.choices, ','), ${b}.weight, ${b}.via, coalesce(${b}.replaces_id::text, ''), round(date_part('epoch', ${b}.cast_at) * 1000)::bigint, ${b}.nonce`)}), 'UTF8')), 'hex')`;
const linkSql = (b: string): SQL => sql.raw(`encode(sha256(convert_to(concat_ws('|', ${b}.prev_hash, ${b}.seq, ${b}.content_hash), 'UTF8')), 'hex')`);

/** The link job as the core names it (jobs/consultations.ts gives it its handler); one per consultation and second. */
export const CONSULTATION_LINK_JOB = {
  name: 'consultation-link',
  payload: z.object({ consultationId: z.uuid(), at: z.number().int().nonnegative() }).strict(),
} satisfies JobRef<{ consultationId: string; at: number }>;

/** Ballots linked per statement. */
const LINK_BATCH = 5000;

/**
 * Appends the consultation's unlinked ballots to its chain, in the order they were written.
 * `wait: false` (the job) leaves it to whoever holds the lock now; `wait: true` (closing) waits.
 */
export async function linkBallots(tx: Tx, consultationId: string, opts: { wait: boolean }): Promise<number> {
  const [head] = (await tx.execute(sql`
    select ballot_seq as seq, chain_head as hash from consultations where id = ${consultationId}
    for no key update ${opts.wait ? sql`` : sql`skip locked`}`)) as unknown as { seq: number; hash: string }[];
  if (!head) return 0;
  let { seq, hash } = head;
  let linked = 0;
  for (;;) {
    const pending = (await tx.execute(sql`
      select id, content_hash as "contentHash" from ballots where consultation_id = ${consultationId} and seq is null
      order by id limit ${LINK_BATCH}`)) as unknown as { id: string; contentHash: string }[];
    if (pending.length === 0) break;
    const links = pending.map((b) => {
      const prev = hash;
      seq += 1;
      hash = linkHash(prev, seq, b.contentHash);
      return { id: Number(b.id), seq, prev, hash };
    });
    await tx.execute(sql`
      update ballots b set seq = x.seq, prev_hash = x.prev, hash = x.hash
      from jsonb_to_recordset(${JSON.stringify(links)}::jsonb) as x (id bigint, seq int, prev text, hash text)
      where b.id = x.id and b.seq is null`);
    linked += pending.length;
    if (pending.length < LINK_BATCH) break;
  }
  if (linked) await tx.execute(sql`update consultations set ballot_seq = ${seq}, chain_head = ${hash} where id = ${consultationId}`);
  return linked;
}

export type ChainProblem = 'content' | 'receipt' | 'hash' | 'link' | 'gap' | 'replaces' | 'unlinked' | 'head';

export interface ChainCheck {
  ok: boolean;
  rows: number;
  /** Ballots not yet on the chain (an open consultation; none once closed). */
  unlinked: number;
  /** The first row that does not match (by its place in the chain, else its id), and how. */
  first?: { seq: number | null; id: number; problem: ChainProblem };
}

/** Linked ballots per part of the verification: parts run at once, one core each. */
const VERIFY_PARTS = 2;

/**
 * Recomputes the whole log set-based: every row's content hash and receipt, every link's hash
 * and its link to the row before, no gap in the numbering, replacements of an earlier ballot of
 * the same voter, once; that a closed consultation has nothing unlinked and that its head is the
 * last link. The chain is cut into `VERIFY_PARTS` ranges of `seq`, each one statement on a
 * connection of its own (one core each): one ordered scan computes both hashes of a row and, with
 * lag(), compares its link with the row before (the row just before the range is read too, so
 * the cut is checked). A million ballots are two million sha256, most of a core-second; one
 * scan per range instead of one per check, and no self-join, is what keeps it near that.
 */
export async function verifyChain(db: Queryable, consultationId: string): Promise<ChainCheck> {
  const [head] = (await db.execute(sql`
    select c.ballot_seq as "ballotSeq", c.chain_head as "chainHead", c.status,
           (select count(*)::int from ballots where consultation_id = c.id) as rows,
           (select count(*)::int from ballots where consultation_id = c.id and seq is null) as unlinked,
           (select max(seq) from ballots where consultation_id = c.id) as "maxSeq",
           (select hash from ballots where consultation_id = c.id and seq is not null order by seq desc limit 1) as last
    from consultations c where c.id = ${consultationId}`)) as unknown as { ballotSeq: number; chainHead: string; status: string; rows: number; unlinked: number; maxSeq: number | null; last: string | null }[];
  if (!head) return { ok: false, rows: 0, unlinked: 0, first: { seq: null, id: 0, problem: 'head' } };
  const maxSeq = Number(head.maxSeq ?? 0);
  const step = Math.ceil(maxSeq / VERIFY_PARTS);
  const linkedPart = (lo: number, hi: number) => sql`
    select seq, id, case when content is distinct from content_hash then 'content'
                         when link is distinct from hash then 'hash'
                         when seq = 1 and prev_hash <> '' then 'link'
                         when seq > 1 and pseq is distinct from seq - 1 then 'gap'
                         when seq > 1 and phash is distinct from prev_hash then 'link'
                         else 'receipt' end as problem
    from (select b.seq, b.id, b.content_hash, b.receipt, b.hash, b.prev_hash, ${contentSql('b', consultationId)} as content, ${linkSql('b')} as link,
                 lag(b.seq) over (order by b.seq) as pseq, lag(b.hash) over (order by b.seq) as phash
          from ballots b where b.consultation_id = ${consultationId} and b.seq between ${lo - 1} and ${hi}) x
    where seq >= ${lo} and (content is distinct from content_hash or link is distinct from hash or receipt <> left(content_hash, ${RECEIPT_LENGTH})
                            or (seq = 1 and prev_hash <> '') or (seq > 1 and (pseq is distinct from seq - 1 or phash is distinct from prev_hash)))
    order by seq limit 1`;
  const parts: SQL[] = [];
  for (let lo = 1; lo <= maxSeq; lo += step) parts.push(linkedPart(lo, Math.min(maxSeq, lo + step - 1)));
  const found = (await Promise.all([
    ...parts.map((q) => db.execute(q)),
    // Not yet on the chain (an open consultation): their content and receipts.
    db.execute(sql`
      select b.seq, b.id, case when ${contentSql('b', consultationId)} <> b.content_hash then 'content' else 'receipt' end as problem
      from ballots b where b.consultation_id = ${consultationId} and b.seq is null
        and (${contentSql('b', consultationId)} <> b.content_hash or b.receipt <> left(b.content_hash, ${RECEIPT_LENGTH}))
      order by b.id limit 1`),
    db.execute(sql`
      select r.seq, r.id, 'replaces' as problem from ballots r left join ballots o on o.id = r.replaces_id and o.consultation_id = r.consultation_id
      where r.consultation_id = ${consultationId} and r.replaces_id is not null
        and (o.id is null or o.id >= r.id or o.voter_token <> r.voter_token
             or exists (select 1 from ballots d where d.consultation_id = r.consultation_id and d.replaces_id = r.replaces_id and d.id <> r.id))
      order by r.seq nulls last, r.id limit 1`),
  ])) as unknown as { seq: number | null; id: string; problem: ChainProblem }[][];
  const problems = found.flat().map((p) => ({ seq: p.seq === null ? null : Number(p.seq), id: Number(p.id), problem: p.problem }));
  const order: ChainProblem[] = ['content', 'hash', 'link', 'gap', 'receipt', 'replaces'];
  problems.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || a.id - b.id || order.indexOf(a.problem) - order.indexOf(b.problem));
  const base = { rows: head.rows, unlinked: head.unlinked };
  if (problems[0]) return { ok: false, ...base, first: problems[0] };
  const closed = head.status === 'closed' || head.status === 'published';
  if (closed && head.unlinked > 0) {
    const [u] = (await db.execute(sql`select id from ballots where consultation_id = ${consultationId} and seq is null order by id limit 1`)) as unknown as { id: string }[];
    return { ok: false, ...base, first: { seq: null, id: Number(u!.id), problem: 'unlinked' } };
  }
  const linkedRows = head.rows - head.unlinked;
  if (head.ballotSeq !== linkedRows || maxSeq !== linkedRows || head.chainHead !== (head.last ?? '')) return { ok: false, ...base, first: { seq: linkedRows + 1, id: 0, problem: 'head' } };
  return { ok: true, ...base };
}
