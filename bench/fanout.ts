import { sql } from 'drizzle-orm';
import { createTestDatabase } from '../tests/support/db.js';
import { seedStreet } from '../tests/support/street-fixture.js';
import { createNotice, confirmNotice } from '../src/notices/commands.js';
import { fanOutNotice } from '../src/notices/fanout.js';
import { fmtRate, fmtRatio, logger, progress, type ResultRow } from './common.js';

/**
 * (e) Fan-out of one notice to a street: outbox rows written per second by the fan-out job
 * (audience pages read, outbox rows and delivery records written, a transaction per page)
 * against raw INSERTs of the same rows in the same page size, and the peak memory of this
 * process while it runs, for 10,000 and for 100,000 households (one resident on the web each).
 * The delivery queue is left out (a no-op): this measures the fan-out, not BullMQ. Run node
 * with --expose-gc (`npx tsx --expose-gc bench/run.ts --only fanout`) to see the live heap.
 */

const PAGE = 1000;
type Db = Awaited<ReturnType<typeof createTestDatabase>>;

/** The raw limit: the same number of outbox rows, pre-built, inserted a page per statement. */
async function rawInsert(database: Db, rows: number): Promise<number> {
  const ids = (await database.sql`select id, chat_ref from channel_identities limit ${rows}`) as unknown as { id: string; chat_ref: string }[];
  const payload = { locale: 'zh-CN', text: '【停水停电】停水通知\n\n明天 9:00–12:00 停水，请提前储水。\n\n看到请点「收到」。', choices: [{ id: 'nr:00000000-0000-0000-0000-000000000000', label: '收到' }] };
  const pages: string[] = [];
  for (let i = 0; i < ids.length; i += PAGE) {
    pages.push(JSON.stringify(ids.slice(i, i + PAGE).map((r) => ({ identity_id: r.id, channel: 'web', chat_ref: r.chat_ref, payload }))));
  }
  const start = performance.now();
  for (const json of pages) {
    await database.sql`insert into outbox (identity_id, channel, chat_ref, payload)
      select x.identity_id, x.channel, x.chat_ref, x.payload from jsonb_to_recordset(${json}::jsonb) as x(identity_id uuid, channel channel_kind, chat_ref text, payload jsonb)`;
  }
  const perSec = ids.length / ((performance.now() - start) / 1000);
  await database.sql`truncate outbox cascade`;
  return perSec;
}

/**
 * Samples this process's memory every 20 ms while `work` runs; returns the peaks above the start.
 * `liveMb` is the heap still in use after a full collection (sampled every 250 ms when node runs
 * with --expose-gc): what the fan-out holds on to, as against garbage V8 has not yet collected.
 */
async function peakMemory<T>(work: () => Promise<T>): Promise<{ result: T; rssMb: number; heapMb: number; liveMb?: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage();
  let rss = base.rss;
  let heap = base.heapUsed;
  let live = base.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, 20);
  const collector = gc
    ? setInterval(() => {
        gc();
        live = Math.max(live, process.memoryUsage().heapUsed);
      }, 250)
    : undefined;
  try {
    const result = await work();
    const mb = (bytes: number) => bytes / 2 ** 20;
    return { result, rssMb: mb(rss - base.rss), heapMb: mb(heap - base.heapUsed), ...(gc && { liveMb: mb(live - base.heapUsed) }) };
  } finally {
    clearInterval(timer);
    if (collector) clearInterval(collector);
  }
}

export async function benchFanout(opts: { households: number[] }): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const largest = Math.max(...opts.households);
  const database = await createTestDatabase();
  try {
    progress(`fan-out: seeding a street of ${largest} households`);
    const town = await seedStreet(database, largest);
    const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };
    const memory: number[] = [];
    for (const n of [...opts.households].sort((a, b) => a - b)) {
      // Whole communities of the street, as many as hold n households.
      const share = Math.max(1, Math.round((n / largest) * town.communityIds.length));
      const scope = share >= town.communityIds.length ? [town.streetId] : town.communityIds.slice(0, share);
      const raw = await rawInsert(database, n);
      const notice = await database.db.transaction((tx) =>
        createNotice(tx, town.secretary, { title: '停水通知', body: '明天 9:00–12:00 停水，请提前储水。', category: 'outage', scopeUnitIds: scope }, new Date()),
      );
      await database.db.transaction((tx) => confirmNotice(tx, town.secretary, notice.id, new Date(), quiet));
      const start = performance.now();
      const { result, rssMb, heapMb, liveMb } = await peakMemory(() =>
        fanOutNotice({ database, delivery: { enqueue: async () => {} }, logger, pageSize: PAGE, quiet }, notice.id, 0),
      );
      const perSec = result.written / ((performance.now() - start) / 1000);
      const [{ written }] = (await database.db.execute(sql`select count(*)::int as written from outbox where dedupe_key like ${`n:${notice.id}:%`}`)) as unknown as [{ written: number }];
      memory.push(liveMb ?? heapMb);
      // The issue's ratio aim is for the street (the largest audience); the smaller audiences are
      // there to show memory stays flat as the audience grows, and their ratio is shown beside it:
      // a smaller audience spends a larger share of its time on the fixed cost of a notice.
      const street = n === largest;
      rows.push({
        backend: 'postgres',
        metric: `(e) fan-out ${n.toLocaleString('en')} households: outbox rows/s (${written} written)`,
        value: fmtRate(perSec),
        raw: `${fmtRate(raw)} raw INSERT`,
        ratio: fmtRatio(perSec / raw),
        aim: street ? '≥ 0.5' : 'all written (ratio aim is for the street)',
        ok: (!street || perSec / raw >= 0.5) && written === n,
      });
      rows.push({ backend: 'postgres', metric: `(e) fan-out ${n.toLocaleString('en')}: peak memory above start`, value: `${liveMb === undefined ? '' : `live heap ${liveMb.toFixed(1)} MB, `}heap ${heapMb.toFixed(1)} MB, rss ${rssMb.toFixed(1)} MB`, raw: '', ratio: '', aim: 'flat' });
      await database.sql`truncate outbox cascade`;
    }
    if (memory.length > 1) {
      const growth = memory.at(-1)! - memory[0]!;
      rows.push({ backend: 'postgres', metric: `(e) fan-out peak ${(globalThis as { gc?: unknown }).gc ? 'live ' : ''}heap growth, smallest → largest audience`, value: `${growth.toFixed(1)} MB`, raw: '', ratio: '', aim: '< 20 MB (flat)', ok: growth < 20 });
    }
  } finally {
    await database.drop();
  }
  return rows;
}
