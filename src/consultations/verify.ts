import { sql, type SQL } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { blockSql, contentSql, linkSql, RECEIPT_LENGTH, replacementBrokenSql } from './chain.js';

/**
 * `verify-ballots`: the whole ballot log of a consultation recomputed, naming the first row that
 * does not match. The chain is checked in blocks (chain.ts `linkBallots`): one sha256 per block
 * over every linked field of its rows — content, content hash, receipt, link — instead of two per
 * ballot; the linker checked each ballot's content hash as it put it in a block. A block that does
 * not match is rechecked row by row (content hash, receipt, link, numbering), which names the row.
 * Ballots in no block (linked before blocks existed, or whose content no longer matched when
 * linked) are checked row by row throughout.
 */

export type ChainProblem = 'content' | 'receipt' | 'hash' | 'link' | 'gap' | 'replaces' | 'unlinked' | 'head' | 'block';

export interface ChainCheck {
  ok: boolean;
  rows: number;
  /** Ballots not yet on the chain (an open consultation; none once closed). */
  unlinked: number;
  /** The first row that does not match (by its place in the chain, else its id), and how. */
  first?: { seq: number | null; id: number; problem: ChainProblem };
}

/** Statements that run at once, one core each. */
const VERIFY_PARTS = 2;

type Range = readonly [lo: number, hi: number];
type Found = { seq: number | null; id: string | number; problem: ChainProblem };

/**
 * Linked ballots in `ranges` checked row by row, in one ordered scan: both hashes of each row and,
 * with lag(), its link to the row before (read too, from outside the range if need be). Each range
 * is read by its own index scan (lateral), never the consultation's whole log.
 */
const rowsCheck = (consultationId: string, ranges: readonly Range[]) => sql`
  select seq, id, case when content is distinct from content_hash then 'content'
                       when link is distinct from hash then 'hash'
                       when seq = 1 and prev_hash <> '' then 'link'
                       when seq > 1 and pseq is distinct from seq - 1 then 'gap'
                       when seq > 1 and phash is distinct from prev_hash then 'link'
                       else 'receipt' end as problem
  from (select b.seq, b.id, b.content_hash, b.receipt, b.hash, b.prev_hash, r.lo, ${contentSql('b', consultationId)} as content, ${linkSql('b')} as link,
               lag(b.seq) over (order by b.seq) as pseq, lag(b.hash) over (order by b.seq) as phash
        from unnest(${sql.param(ranges.map((r) => r[0]))}::int[], ${sql.param(ranges.map((r) => r[1]))}::int[]) as r (lo, hi)
        cross join lateral (select * from ballots b where b.consultation_id = ${consultationId} and b.seq between r.lo - 1 and r.hi) b) x
  where seq >= lo and (content is distinct from content_hash or link is distinct from hash or receipt <> left(content_hash, ${RECEIPT_LENGTH})
                       or (seq = 1 and prev_hash <> '') or (seq > 1 and (pseq is distinct from seq - 1 or phash is distinct from prev_hash)))
  order by seq limit 1`;

/**
 * Unlinked ballots and linked ones in `ranges` that do not replace what they must: a first ballot
 * of its voter nothing, a later one the voter's ballot just before it, which nothing else replaces.
 */
const replacesCheck = (consultationId: string, ranges: readonly Range[]) => sql`
  select r.seq, r.id, 'replaces' as problem
  from (select b.* from ballots b where b.consultation_id = ${consultationId} and b.seq is null
        ${
          ranges.length
            ? sql`union all
        select b.* from unnest(${sql.param(ranges.map((x) => x[0]))}::int[], ${sql.param(ranges.map((x) => x[1]))}::int[]) as x (lo, hi)
        cross join lateral (select * from ballots b where b.consultation_id = ${consultationId} and b.seq between x.lo and x.hi) b`
            : sql``
        }) r
  where ${replacementBrokenSql('r')}
  order by r.seq nulls last, r.id limit 1`;

/**
 * The blocks ending in lo…hi recomputed: the ballots found in them (`rows`), and the first block
 * whose rows no longer give its hash or are not all there (`firstSeq` null if none).
 */
const blocksCheck = (consultationId: string, [lo, hi]: Range) => sql`
  with checked as materialized (
    select k.first_seq, k.last_seq, r.n, (r.n <> k.last_seq - k.first_seq + 1 or r.hash is distinct from k.hash) as bad
    from ballot_blocks k cross join lateral ${blockSql('k')} r
    where k.consultation_id = ${consultationId} and k.last_seq between ${lo} and ${hi})
  select (select coalesce(sum(n), 0)::int from checked) as rows, f.first_seq as "firstSeq", f.last_seq as "lastSeq", f.n
  from (select 1) one left join lateral (select * from checked where bad order by last_seq limit 1) f on true`;

/** Linked ballots outside blocks: in the uncovered ranges, and any numbered below 1. */
const outsideCount = (consultationId: string, ranges: readonly Range[]) => sql`
  select (select count(*)::int from ballots where consultation_id = ${consultationId} and seq < 1)
         + coalesce((select sum(c.n)::int from unnest(${sql.param(ranges.map((r) => r[0]))}::int[], ${sql.param(ranges.map((r) => r[1]))}::int[]) as r (lo, hi)
                     cross join lateral (select count(*) as n from ballots b where b.consultation_id = ${consultationId} and b.seq between r.lo and r.hi) c), 0) as rows`;

interface Block {
  firstSeq: number;
  lastSeq: number;
  prevHash: string;
  hash: string;
}

/** The seqs 1…maxSeq that no block covers, and the first block that does not follow the one before. */
export function coverage(blocks: readonly Block[], maxSeq: number): { uncovered: Range[]; broken?: Block } {
  const uncovered: Range[] = [];
  let next = 1;
  let prev = '';
  let broken: Block | undefined;
  for (const k of blocks) {
    if (!broken && (k.prevHash !== prev || k.firstSeq < next)) broken = k;
    if (k.firstSeq > next) uncovered.push([next, Math.min(k.firstSeq - 1, maxSeq)]);
    next = Math.max(next, k.lastSeq + 1);
    prev = k.hash;
  }
  if (next <= maxSeq) uncovered.push([next, maxSeq]);
  return { uncovered, broken };
}

/** Ranges cut into at most `parts` groups of about equal size (a range may be cut in two). */
export function splitRanges(ranges: readonly Range[], parts: number): Range[][] {
  const total = ranges.reduce((s, [lo, hi]) => s + hi - lo + 1, 0);
  const size = Math.ceil(total / parts);
  const groups: Range[][] = [];
  let group: Range[] = [];
  let room = size;
  for (const [first, hi] of ranges) {
    for (let lo = first; lo <= hi; ) {
      const take = Math.min(room, hi - lo + 1);
      group.push([lo, lo + take - 1]);
      lo += take;
      room -= take;
      if (room === 0) {
        groups.push(group);
        group = [];
        room = size;
      }
    }
  }
  if (group.length) groups.push(group);
  return groups;
}

/**
 * Recomputes the whole log: every block (or, outside blocks, every row's content hash, receipt
 * and link), no gap in the numbering, replacements of an earlier ballot of the same voter, once;
 * that a closed consultation has nothing unlinked and that its head is the last link. The blocks
 * are cut into `VERIFY_PARTS` ranges, each one statement on a connection of its own.
 */
export async function verifyChain(db: Queryable, consultationId: string): Promise<ChainCheck> {
  const [head] = (await db.execute(sql`
    select c.ballot_seq as "ballotSeq", c.chain_head as "chainHead", c.status,
           (select count(*)::int from ballots where consultation_id = c.id and seq is null) as unlinked,
           (select max(seq) from ballots where consultation_id = c.id) as "maxSeq",
           (select hash from ballots where consultation_id = c.id and seq is not null order by seq desc limit 1) as last,
           (select coalesce(json_agg(json_build_object('firstSeq', first_seq, 'lastSeq', last_seq, 'prevHash', prev_hash, 'hash', hash) order by last_seq), '[]')
            from ballot_blocks where consultation_id = c.id) as blocks
    from consultations c where c.id = ${consultationId}`)) as unknown as { ballotSeq: number; chainHead: string; status: string; unlinked: number; maxSeq: number | null; last: string | null; blocks: Block[] }[];
  if (!head) return { ok: false, rows: 0, unlinked: 0, first: { seq: null, id: 0, problem: 'head' } };
  const maxSeq = Number(head.maxSeq ?? 0);
  const { uncovered, broken } = coverage(head.blocks, maxSeq);
  const blockParts = splitRanges(head.blocks.length ? [[head.blocks[0]!.lastSeq, head.blocks.at(-1)!.lastSeq]] : [], VERIFY_PARTS);
  // Linked ballots are counted as they are checked (the blocks' rows, and those outside blocks),
  // not by a scan of their own: that scan was a tenth of the time.
  let linkedRows = 0;
  const checks: Promise<Found[]>[] = [
    (db.execute(outsideCount(consultationId, uncovered)) as unknown as Promise<{ rows: number }[]>).then(([r]) => {
      linkedRows += r!.rows;
      return [];
    }),
    ...splitRanges(uncovered, VERIFY_PARTS).map((ranges) => db.execute(rowsCheck(consultationId, ranges)) as unknown as Promise<Found[]>),
    ...blockParts.map(async ([range]) => {
      const [bad] = (await db.execute(blocksCheck(consultationId, range!))) as unknown as { rows: number; firstSeq: number | null; lastSeq: number; n: number }[];
      linkedRows += bad!.rows;
      const { firstSeq, lastSeq, n } = bad!;
      if (firstSeq === null) return [];
      // The block no longer matches: its rows (and the next one, whose link is to its last) one by one.
      const rows = (await db.execute(rowsCheck(consultationId, [[firstSeq, lastSeq + 1]]))) as unknown as Found[];
      if (rows.length) return rows;
      // Every row there matches: rows missing after the last one (the head no longer matches), or the block itself changed.
      return [n < lastSeq - firstSeq + 1 ? { seq: maxSeq + 1, id: 0, problem: 'head' as const } : { seq: firstSeq, id: 0, problem: 'block' as const }];
    }),
    // Not yet on the chain (an open consultation): their content and receipts.
    db.execute(sql`
      select b.seq, b.id, case when ${contentSql('b', consultationId)} <> b.content_hash then 'content' else 'receipt' end as problem
      from ballots b where b.consultation_id = ${consultationId} and b.seq is null
        and (${contentSql('b', consultationId)} <> b.content_hash or b.receipt <> left(b.content_hash, ${RECEIPT_LENGTH}))
      order by b.id limit 1`) as unknown as Promise<Found[]>,
    // Replacements outside blocks (the linker checked those inside as it linked them).
    db.execute(replacesCheck(consultationId, uncovered)) as unknown as Promise<Found[]>,
  ];
  const found = (await Promise.all(checks)).flat();
  if (broken) found.push({ seq: broken.firstSeq, id: 0, problem: 'block' });
  const problems = found.map((p) => ({ seq: p.seq === null ? null : Number(p.seq), id: Number(p.id), problem: p.problem }));
  const order: ChainProblem[] = ['content', 'hash', 'link', 'gap', 'receipt', 'block', 'replaces'];
  problems.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || a.id - b.id || order.indexOf(a.problem) - order.indexOf(b.problem));
  const base = { rows: linkedRows + head.unlinked, unlinked: head.unlinked };
  const first = problems[0];
  if (first) {
    // A block's problem is named by its first row.
    if (first.problem === 'block') {
      const [row] = (await db.execute(sql`select id from ballots where consultation_id = ${consultationId} and seq = ${first.seq}`)) as unknown as { id: string }[];
      first.id = Number(row?.id ?? 0);
    }
    return { ok: false, ...base, first };
  }
  const closed = head.status === 'closed' || head.status === 'published';
  if (closed && head.unlinked > 0) {
    const [u] = (await db.execute(sql`select id from ballots where consultation_id = ${consultationId} and seq is null order by id limit 1`)) as unknown as { id: string }[];
    return { ok: false, ...base, first: { seq: null, id: Number(u!.id), problem: 'unlinked' } };
  }
  if (maxSeq !== linkedRows && uncovered.length) {
    // A ballot missing outside the blocks (theirs are counted whole): named by the one after it.
    const [gap] = (await db.execute(sql`
      select b.seq, b.id, 'gap' as problem
      from unnest(${sql.param(uncovered.map((r) => r[0]))}::int[], ${sql.param(uncovered.map((r) => r[1]))}::int[]) as r (lo, hi) cross join lateral generate_series(r.lo, r.hi) s
      join ballots b on b.consultation_id = ${consultationId} and b.seq = s + 1
      where not exists (select 1 from ballots m where m.consultation_id = ${consultationId} and m.seq = s)
      order by s limit 1`)) as unknown as Found[];
    if (gap) return { ok: false, ...base, first: { seq: Number(gap.seq), id: Number(gap.id), problem: 'gap' } };
  }
  if (head.ballotSeq !== linkedRows || maxSeq !== linkedRows || head.chainHead !== (head.last ?? '')) return { ok: false, ...base, first: { seq: linkedRows + 1, id: 0, problem: 'head' } };
  return { ok: true, ...base };
}
