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
 *    breaks every hash after it. Each pass also writes its ballots as blocks (ballot_blocks): one
 *    hash over every linked field of up to `BLOCK_SIZE` rows and the block before, which is what
 *    verification recomputes (verify.ts), one sha256 per block rather than two per ballot.
 *
 * The same strings are built here and in SQL (`contentSql`, `linkSql`, `blockSql`), so
 * `verifyChain` recomputes set-based exactly what was hashed.
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
export const linkSql = (b: string): SQL => sql.raw(`encode(sha256(convert_to(concat_ws('|', ${b}.prev_hash, ${b}.seq, ${b}.content_hash), 'UTF8')), 'hex')`);

/** The link job as the core names it (jobs/consultations.ts gives it its handler); one per consultation and second. */
export const CONSULTATION_LINK_JOB = {
  name: 'consultation-link',
  payload: z.object({ consultationId: z.uuid(), at: z.number().int().nonnegative() }).strict(),
} satisfies JobRef<{ consultationId: string; at: number }>;

/** Ballots read and linked per statement. */
const LINK_BATCH = 5000;
/** Ballots per block: one sha256 per block at verification, and a block small enough to recheck row by row. */
export const BLOCK_SIZE = 1000;

/** A linked ballot as stored, every field the block hash covers (`castMs`: cast_at in epoch ms). */
export interface LinkedRow {
  id: string | number;
  voterToken: string;
  choices: readonly number[];
  weight: number;
  via: string;
  replacesId: string | number | null;
  castMs: string | number;
  nonce: string;
  contentHash: string;
  receipt: string;
  prevHash: string;
  hash: string;
}

const blockLine = (r: LinkedRow) => [r.id, r.voterToken, r.choices.join(','), r.weight, r.via, r.replacesId ?? '', r.castMs, r.nonce, r.contentHash, r.receipt, r.prevHash, r.hash].join('|');

/**
 * The hash of a block: the consultation, the block before, the range and one line per ballot in
 * `seq` order, each with its id, content, content hash, receipt and link. `blockSql` builds the same
 * string in PostgreSQL.
 */
export function blockHash(consultationId: string, prevHash: string, firstSeq: number, rows: readonly LinkedRow[]): string {
  return sha256(`${consultationId.toLowerCase()}|${prevHash}|${firstSeq}|${firstSeq + rows.length - 1}\n${rows.map(blockLine).join('\n')}`);
}

/**
 * `blockHash` in SQL over `k`, a row alias of ballot_blocks, with the number of its ballots found
 * (`n`, `hash`): its ballots in `seq` order from an ordered subquery (an ORDER BY inside
 * string_agg sorted each block again, a third of the cost). Every field is ASCII (hex, digits,
 * uuid, the way), so textsend's bytes are the UTF-8 Node hashes, without convert_to checking
 * the encoding of each block's 300 kB again.
 */
export const blockSql = (k: string): SQL =>
  sql.raw(
    `(select count(*)::int as n, encode(sha256(textsend(${k}.consultation_id::text || '|' || ${k}.prev_hash || '|' || ${k}.first_seq || '|' || ${k}.last_seq || E'\\n' || string_agg(line, E'\\n'))), 'hex') as hash ` +
      `from (select concat_ws('|', b.id, b.voter_token, array_to_string(b.choices, ','), b.weight, b.via, coalesce(b.replaces_id::text, ''), round(date_part('epoch', b.cast_at) * 1000)::bigint, ` +
      `b.nonce, b.content_hash, b.receipt, b.prev_hash, b.hash) as line ` +
      `from ballots b where b.consultation_id = ${k}.consultation_id and b.seq between ${k}.first_seq and ${k}.last_seq order by b.seq) lines)`,
  );

type PendingRow = Omit<LinkedRow, 'prevHash' | 'hash' | 'id'> & { id: string; replacesId: string | null };

/**
 * The replacement rule, as a condition over `r`, a row alias of ballots, true where it is broken:
 * a voter's first ballot replaces nothing, a later one the voter's ballot just before it, and no
 * two ballots replace the same one. The linker checks it as it links (`linkBallots`) and
 * verification outside blocks (verify.ts), from this one statement of it.
 */
export const replacementBrokenSql = (r: string): SQL =>
  sql.raw(
    `(${r}.replaces_id is distinct from (select max(o.id) from ballots o where o.consultation_id = ${r}.consultation_id and o.voter_token = ${r}.voter_token and o.id < ${r}.id)` +
      ` or exists (select 1 from ballots d where d.consultation_id = ${r}.consultation_id and d.replaces_id = ${r}.replaces_id and d.id <> ${r}.id))`,
  );

/** Whether a ballot still matches the hash and receipt it was written with, and keeps the replacement rule (`broken` false). */
const sound = (consultationId: string, r: PendingRow, broken: boolean | undefined) =>
  broken === false &&
  r.receipt === receiptOf(r.contentHash) &&
  contentHash({ consultationId, voterToken: r.voterToken, choices: r.choices, weight: r.weight, via: r.via as BallotContent['via'], replacesId: r.replacesId === null ? null : Number(r.replacesId), castAt: new Date(Number(r.castMs)), nonce: r.nonce }) === r.contentHash;

/**
 * Appends the consultation's unlinked ballots to its chain, in the order they were written, in
 * blocks of up to `BLOCK_SIZE`. Each ballot is checked as it is linked — its content hash and
 * receipt, and that it replaces the voter's ballot before it (none for a first), which nothing
 * else replaces — so verification need not repeat those checks inside a block. A ballot that
 * fails them (changed while unlinked) is linked without a block: verification checks it row by
 * row and names it, instead of a block vouching for it.
 * `wait: false` (the job) leaves it to whoever holds the lock now; `wait: true` (closing) waits.
 */
export async function linkBallots(tx: Tx, consultationId: string, opts: { wait: boolean }): Promise<number> {
  const [head] = (await tx.execute(sql`
    select ballot_seq as seq, chain_head as hash, (select hash from ballot_blocks k where k.consultation_id = c.id order by last_seq desc limit 1) as block
    from consultations c where id = ${consultationId}
    for no key update ${opts.wait ? sql`` : sql`skip locked`}`)) as unknown as { seq: number; hash: string; block: string | null }[];
  if (!head) return 0;
  let { seq, hash } = head;
  let block = head.block ?? '';
  let linked = 0;
  for (;;) {
    const pending = (await tx.execute(sql`
      select id, voter_token as "voterToken", choices, weight, via, replaces_id as "replacesId", round(date_part('epoch', cast_at) * 1000)::bigint as "castMs",
             nonce, content_hash as "contentHash", receipt
      from ballots where consultation_id = ${consultationId} and seq is null
      order by id limit ${LINK_BATCH}`)) as unknown as PendingRow[];
    if (pending.length === 0) break;
    const replacements = (await tx.execute(sql`
      select b.id::text as id, ${replacementBrokenSql('b')} as broken
      from ballots b where b.consultation_id = ${consultationId} and b.id = any(${sql.param(pending.map((b) => b.id))}::bigint[])`)) as unknown as { id: string; broken: boolean }[];
    const brokenOf = new Map(replacements.map((r) => [r.id, r.broken]));
    const links: { id: number; seq: number; prev: string; hash: string }[] = [];
    const blocks: { first: number; last: number; prev: string; hash: string }[] = [];
    let run: LinkedRow[] = [];
    const endBlock = () => {
      if (run.length === 0) return;
      const first = seq - run.length + 1;
      const h = blockHash(consultationId, block, first, run);
      blocks.push({ first, last: seq, prev: block, hash: h });
      block = h;
      run = [];
    };
    for (const b of pending) {
      const ok = sound(consultationId, b, brokenOf.get(b.id));
      if (!ok) endBlock();
      const prev = hash;
      seq += 1;
      hash = linkHash(prev, seq, b.contentHash);
      links.push({ id: Number(b.id), seq, prev, hash });
      if (ok) {
        run.push({ ...b, prevHash: prev, hash });
        if (run.length === BLOCK_SIZE) endBlock();
      }
    }
    endBlock();
    await tx.execute(sql`
      update ballots b set seq = x.seq, prev_hash = x.prev, hash = x.hash
      from jsonb_to_recordset(${JSON.stringify(links)}::jsonb) as x (id bigint, seq int, prev text, hash text)
      where b.id = x.id and b.seq is null`);
    if (blocks.length) {
      await tx.execute(sql`
        insert into ballot_blocks (consultation_id, first_seq, last_seq, prev_hash, hash)
        select ${consultationId}, x.first, x.last, x.prev, x.hash from jsonb_to_recordset(${JSON.stringify(blocks)}::jsonb) as x (first int, last int, prev text, hash text)`);
    }
    linked += pending.length;
    if (pending.length < LINK_BATCH) break;
  }
  if (linked) await tx.execute(sql`update consultations set ballot_seq = ${seq}, chain_head = ${hash} where id = ${consultationId}`);
  return linked;
}
