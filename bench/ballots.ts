import { createHash } from 'node:crypto';
import { BLOCK_SIZE, blockHash, contentHash, linkBallots, linkHash, newNonce, receiptOf, type LinkedRow } from '../src/consultations/chain.js';
import { castBallot, createConsultation } from '../src/consultations/commands.js';
import { createFirstBallots } from '../src/consultations/first-ballot.js';
import { openConsultation } from '../src/consultations/lifecycle.js';
import { tallyOf } from '../src/consultations/tally.js';
import { verifyChain } from '../src/consultations/verify.js';
import { recordingWork } from '../tests/support/consultation-fixture.js';
import { createTestDatabase } from '../tests/support/db.js';
import { fmtMs, fmtRate, fmtRatio, percentile, progress, runConcurrent, warmConnections, type ResultRow } from './common.js';
import { seedStreet } from '../tests/support/street-fixture.js';

/**
 * (f) 社区协商 ballots, database only:
 * - ballots stored per second by `castBallot` (a first ballot: the voter's facts, the consultation
 *   held open, the voter row and the ballot in one statement, group-committed with the others cast
 *   at the same moment as the app does, first-ballot.ts createFirstBallots; `concurrency` callers
 *   at once) against
 *   the raw limit, `INSERT … ON CONFLICT` of the same number of (consultation, voter) rows;
 * - households voting within a minute of opening: `households` ballots offered evenly over 60 s,
 *   each ballot's latency (the command, as a chat step runs it, without the channel);
 * - tally and verify of a million ballots: a chain of 1,000,000 built beforehand, then
 *   `tallyOf` (the counted ballots per option, one statement) and `verifyChain` (every block of
 *   the chain recomputed in SQL, numbering, replacements outside blocks) timed.
 */

const KEY = 'bench-ballot-key';
const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };
type Db = Awaited<ReturnType<typeof createTestDatabase>>;

export async function openVote(database: Db, streetId: number, secretary: string, title: string): Promise<string> {
  const { work } = recordingWork(database);
  return work.run(async (uow) => {
    const c = await createConsultation(uow.tx, secretary, { title, background: '基准测试', options: ['同意', '不同意', '弃权'], scopeUnitIds: [streetId], basis: 'households', closesAt: new Date(Date.now() + 86400_000) }, new Date());
    return (await openConsultation(uow, secretary, c.id, new Date(), { quiet, locale: 'zh-CN' })).id;
  });
}

export async function rawRate(database: Db, n: number, concurrency: number): Promise<number> {
  await database.sql`create table if not exists raw_votes (consultation_id uuid not null, voter_key text not null, choice smallint not null, cast_at timestamptz not null, primary key (consultation_id, voter_key))`;
  await database.sql`truncate raw_votes`;
  const cid = '00000000-0000-0000-0000-000000000001';
  const s = await runConcurrent(n, concurrency, (i) => database.sql`insert into raw_votes values (${cid}, ${'h:' + i}, ${i % 3}, now()) on conflict (consultation_id, voter_key) do update set choice = excluded.choice, cast_at = excluded.cast_at`);
  return n / s;
}

/** A closed consultation with `n` ballots, all linked in blocks as the linker does (every tenth a change of an earlier one), inserted in batches. */
export async function millionChain(database: Db, secretary: string, streetId: number, n: number): Promise<string> {
  const [c] = (await database.sql`
    insert into consultations (author_id, title, background, options, basis, rule, closes_at, status, opened_at, closed_at, eligible)
    values (${secretary}, '百万票', '基准测试', '{同意,不同意,弃权}', 'households', 'simple_majority', now(), 'closed', now(), now(), '{"people":1000000,"households":1000000,"owners":0,"area":0}')
    returning id`) as unknown as { id: string }[];
  await database.sql`insert into consultation_scopes values (${c!.id}, ${streetId})`;
  const id = c!.id;
  const castAt = new Date();
  const base = 100_000_000;
  let prev = '';
  let block = '';
  let run: LinkedRow[] = [];
  const blocks: { first: number; last: number; prev: string; hash: string }[] = [];
  const BATCH = 20_000;
  let rows: { id: number; token: string; choice: number; replaces: number | null; nonce: string; content: string; receipt: string; seq: number; prev: string; hash: string }[] = [];
  const flush = async () => {
    const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
    await database.sql`
      insert into ballots (id, consultation_id, voter_token, choices, weight, via, replaces_id, cast_at, nonce, content_hash, receipt, seq, prev_hash, hash)
      select x.id, ${id}, x.token, array[x.choice]::smallint[], 0, 'chat', x.replaces, ${castAt.toISOString()}::timestamptz, x.nonce, x.content, x.receipt, x.seq, x.prev, x.hash
      from unnest(${col('id') as number[]}::bigint[], ${col('token') as string[]}::text[], ${col('choice') as number[]}::int[], ${col('replaces') as number[]}::bigint[], ${col('nonce') as string[]}::text[],
                  ${col('content') as string[]}::text[], ${col('receipt') as string[]}::text[], ${col('seq') as number[]}::int[], ${col('prev') as string[]}::text[], ${col('hash') as string[]}::text[])
           as x(id, token, choice, replaces, nonce, content, receipt, seq, prev, hash)`;
    rows = [];
    await database.sql`
      insert into ballot_blocks (consultation_id, first_seq, last_seq, prev_hash, hash)
      select ${id}, x.first, x.last, x.prev, x.hash
      from unnest(${blocks.map((k) => k.first)}::int[], ${blocks.map((k) => k.last)}::int[], ${blocks.map((k) => k.prev)}::text[], ${blocks.map((k) => k.hash)}::text[]) as x(first, last, prev, hash)`;
    blocks.length = 0;
  };
  for (let seq = 1; seq <= n; seq++) {
    // Every tenth ballot changes the ballot written five before it (the same voter).
    const change = seq % 10 === 0 && seq > 5;
    const token = createHash('md5').update(`v${change ? seq - 5 : seq}`).digest('hex');
    const b = { consultationId: id, voterToken: token, choices: [seq % 3], weight: 0, via: 'chat' as const, replacesId: change ? base + seq - 5 : null, castAt, nonce: newNonce() };
    const content = contentHash(b);
    const hash = linkHash(prev, seq, content);
    rows.push({ id: base + seq, token, choice: seq % 3, replaces: b.replacesId, nonce: b.nonce, content, receipt: receiptOf(content), seq, prev, hash });
    run.push({ id: base + seq, voterToken: token, choices: b.choices, weight: 0, via: 'chat', replacesId: b.replacesId, castMs: castAt.getTime(), nonce: b.nonce, contentHash: content, receipt: receiptOf(content), prevHash: prev, hash });
    if (run.length === BLOCK_SIZE || seq === n) {
      const k = blockHash(id, block, seq - run.length + 1, run);
      blocks.push({ first: seq - run.length + 1, last: seq, prev: block, hash: k });
      block = k;
      run = [];
    }
    prev = hash;
    if (rows.length === BATCH) await flush();
    if (seq % 200_000 === 0) progress(`ballots: ${seq} of ${n} chained ballots written`);
  }
  if (rows.length) await flush();
  await database.sql`update consultations set ballot_seq = ${n}, chain_head = ${prev} where id = ${id}`;
  await database.sql`vacuum analyze ballots`;
  await database.sql`vacuum analyze ballot_blocks`;
  return id;
}

export async function benchBallots(opts: { n: number; concurrency: number; households: number; million: number }): Promise<ResultRow[]> {
  const database = await createTestDatabase();
  // The app's group commit of first ballots (src/app.ts), on connections of its own.
  const firstBallots = createFirstBallots({ url: database.url });
  const rows: ResultRow[] = [];
  try {
    const street = await seedStreet(database, Math.max(opts.n, opts.households));
    const people = (await database.sql`select id from people where household_id is not null order by household_id`).map((r) => r.id as string);
    progress(`ballots: ${people.length} households seeded`);

    // Ballots stored per second vs the raw INSERT … ON CONFLICT, the raw one measured before and after.
    const vote = await openVote(database, street.streetId, street.secretary, '存储速率');
    await warmConnections(database.sql, opts.concurrency);
    const raw1 = await rawRate(database, opts.n, opts.concurrency);
    const s = await runConcurrent(opts.n, opts.concurrency, (i) => castBallot(database.db, KEY, vote, people[i]!, [i % 3], new Date(), firstBallots));
    const raw2 = await rawRate(database, opts.n, opts.concurrency);
    const rate = opts.n / s;
    const raw = (raw1 + raw2) / 2;
    let t0 = performance.now();
    const linked = await database.db.transaction((tx) => linkBallots(tx, vote, { wait: true }));
    const linkS = (performance.now() - t0) / 1000;
    const chain = await verifyChain(database.db, vote);
    rows.push({ backend: 'postgres', metric: `(f) ballots stored (${opts.concurrency} concurrent)`, value: fmtRate(rate), raw: `INSERT … ON CONFLICT ${fmtRate(raw)}`, ratio: fmtRatio(rate / raw), aim: '≥ 0.5', ok: rate / raw >= 0.5 });
    rows.push({ backend: 'postgres', metric: '(f) ballots linked into the chain', value: `${fmtRate(linked / linkS)} (${linked} in one pass, ${chain.ok ? 'chain ok' : 'BROKEN'})`, raw: '', ratio: '', aim: '', ok: chain.ok && linked === opts.n });

    // Households voting within a minute of opening, offered evenly.
    const minute = await openVote(database, street.streetId, street.secretary, '一分钟');
    const latencies: number[] = [];
    // The link job's part, as a worker would run it: every second, while the minute runs.
    let voting = true;
    const linker = (async () => {
      while (voting) {
        await database.db.transaction((tx) => linkBallots(tx, minute, { wait: false }));
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const start = performance.now();
    const gap = 60_000 / opts.households;
    await Promise.all(
      people.slice(0, opts.households).map(async (p, i) => {
        await new Promise((r) => setTimeout(r, i * gap));
        const t0 = performance.now();
        await castBallot(database.db, KEY, minute, p, [i % 3], new Date(), firstBallots);
        latencies.push(performance.now() - t0);
      }),
    );
    const took = performance.now() - start;
    voting = false;
    await linker;
    latencies.sort((a, b) => a - b);
    const stored = (await tallyOf(database.db, minute, 3)).ballots;
    rows.push({ backend: 'postgres', metric: `(f) ${opts.households} households vote within a minute`, value: `${stored} stored in ${fmtMs(took)}; p50 ${fmtMs(percentile(latencies, 50))}, p99 ${fmtMs(percentile(latencies, 99))}`, raw: '–', ratio: '–', aim: 'all stored, p99 ≤ 2 s', ok: stored === opts.households && percentile(latencies, 99) <= 2000 });

    // Tally and verify of a million ballots.
    const big = await millionChain(database, street.secretary, street.streetId, opts.million);
    t0 = performance.now();
    const tally = await tallyOf(database.db, big, 3);
    const tallyMs = performance.now() - t0;
    t0 = performance.now();
    const check = await verifyChain(database.db, big);
    const verifyMs = performance.now() - t0;
    const expected = opts.million - Math.floor(opts.million / 10);
    rows.push({ backend: 'postgres', metric: `(f) tally of ${opts.million} ballots`, value: `${fmtMs(tallyMs)} (${tally.ballots} counted)`, raw: '–', ratio: '–', aim: '≤ 1 s', ok: tallyMs <= 1000 && tally.ballots === expected });
    rows.push({ backend: 'postgres', metric: `(f) verify of ${opts.million} ballots`, value: `${fmtMs(verifyMs)} (${check.ok ? 'chain ok' : 'BROKEN'})`, raw: '–', ratio: '–', aim: '≤ 1 s', ok: verifyMs <= 1000 && check.ok });
  } finally {
    await firstBallots.close();
    await database.drop();
  }
  return rows;
}
