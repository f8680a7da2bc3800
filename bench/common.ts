import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { drizzle } from 'drizzle-orm/postgres-js';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Database } from '../db/client.js';
import { createQueueBackend, redisOptionsFromUrl, type QueueBackend } from '../jobs/backend.js';
import { createJobs, type Jobs } from '../jobs/producer.js';
import { ALL_JOBS } from '../jobs/registry.js';
import type { CaseSettings } from '../src/cases/effects.js';
import { createWork, type Work } from '../src/work/unit.js';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger, type Logger } from '../src/log.js';
import type { DeliveryQueue } from '../src/outbox/outbox.js';
import { casePeople, categoryId, type CasePeople } from '../tests/support/case-fixture.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix, TEST_CODE_SECRET } from '../tests/support/db.js';
import { createSmallTown, type SmallTown } from '../tests/support/org-fixture.js';

export type BackendKind = 'redis' | 'postgres';

/** One line of the final table. `raw` is the limit measured in the same run; `aim` a ratio or a bound. */
export interface ResultRow {
  backend: BackendKind;
  metric: string;
  value: string;
  raw: string;
  ratio: string;
  aim: string;
  ok?: boolean;
}

export const logger: Logger = createLogger('silent');

/** Real deadlines (scale 1): timers a command schedules lie hours ahead and never fire during a run. */
export const settings: CaseSettings = { deadlineScale: 1, autoCloseDays: 7 };

/** Everything one benchmark needs on one backend: fresh database, small town, queue namespace. */
export interface BenchEnv {
  kind: BackendKind;
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  town: SmallTown;
  who: CasePeople;
  environmentCategory: number;
  prefix: string;
  backend: QueueBackend;
  /** The job registry's producer on this backend. */
  jobs: Jobs;
  delivery: DeliveryQueue;
  work: Work;
  config: Config;
  /** runCaseTx / intakeCase dependencies: the real unit of work and producer on this backend. */
  deps: { database: BenchEnv['database']; delivery: DeliveryQueue; work: Work; logger: Logger };
  extraQueues: string[];
  close(): Promise<void>;
}

export async function createEnv(kind: BackendKind): Promise<BenchEnv> {
  const database = await createTestDatabase();
  progress(`${kind}: database ${new URL(database.url).pathname.slice(1)}, queue prefix/schema will follow`);
  const town = await createSmallTown(database);
  const who = await casePeople(database, town);
  const environmentCategory = await categoryId(database, 'environment');
  const prefix = uniqueQueuePrefix();
  progress(`${kind}: queue ${kind === 'redis' ? 'prefix' : 'schema'} ${prefix}`);
  const backend = createQueueBackend(kind === 'redis' ? { kind: 'redis', url: TEST_REDIS_URL, prefix } : { kind: 'postgres', url: database.url, schema: prefix });
  const jobs = createJobs(backend);
  const delivery = jobs.delivery;
  const work = createWork({ database, sink: jobs.sink, logger });
  const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, LOG_LEVEL: 'silent' });
  const env: BenchEnv = {
    kind,
    database,
    town,
    who,
    environmentCategory,
    prefix,
    backend,
    jobs,
    delivery,
    work,
    config,
    deps: { database, delivery, work, logger },
    extraQueues: [],
    async close() {
      await jobs.close().catch(() => {});
      if (kind === 'redis') await obliterateRedis(backend, prefix, [...ALL_JOBS.map((d) => d.name), ...env.extraQueues]);
      await backend.close().catch(() => {});
      // The PostgreSQL backend keeps its queues in a schema of this database: dropping it cleans up.
      await database.drop();
    },
  };
  return env;
}

/** Obliterates every queue this run used, then removes whatever else sits under the unique prefix. */
async function obliterateRedis(backend: QueueBackend, prefix: string, names: string[]) {
  for (const name of names) {
    const q = new backend.classes.Queue(name, { ...backend.connectionOptions() } as any);
    try {
      await q.obliterate({ force: true, count: 5000 });
    } catch {
      // swept below
    } finally {
      await q.close().catch(() => {});
    }
  }
  const redis = new Redis(redisOptionsFromUrl(TEST_REDIS_URL));
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Runs `total` calls of `fn(i)` with `concurrency` loops; returns elapsed seconds. */
export async function runConcurrent(total: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        await fn(i);
      }
    }),
  );
  return (performance.now() - start) / 1000;
}

export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const fmtRate = (perSec: number) => `${perSec.toFixed(0)}/s`;
export const fmtRatio = (r: number) => r.toFixed(2);
export const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

export function progress(msg: string) {
  process.stderr.write(`  · ${msg}\n`);
}

/** CPU use over a phase: this Node process (share of one core) and the whole machine (share of all cores). */
export function cpuMeter() {
  const machine = () => {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = line[3]! + (line[4] ?? 0);
    return { idle, total: line.reduce((a, b) => a + b, 0) };
  };
  const m0 = machine();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop(): string {
      const wallUs = (performance.now() - t0) * 1000;
      const c = process.cpuUsage(c0);
      const m1 = machine();
      const busy = 1 - (m1.idle - m0.idle) / Math.max(1, m1.total - m0.total);
      return `node ${(((c.user + c.system) / wallUs) * 100).toFixed(0)}% of a core, machine ${(busy * 100).toFixed(0)}% of ${cpus().length} cores`;
    },
  };
}

/** CPU ms of this database's backends so far (a pool's connections stay open between phases); 0 where /proc does not show them. */
export async function backendCpuMs(sql: postgres.Sql): Promise<number> {
  const pids = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  let ticks = 0;
  for (const { pid } of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // The server runs elsewhere, or the backend has just gone.
    }
  }
  return ticks * 10;
}

/** WAL bytes the whole server has written so far (other databases' too). */
export const walBytes = async (sql: postgres.Sql) => BigInt((await sql<{ b: string }[]>`select pg_current_wal_insert_lsn() - '0/0'::pg_lsn as b`)[0]!.b);

/** Share of the machine idle over `ms` (other work on the box skews every figure; the run says so). */
export async function machineIdle(ms = 1000): Promise<number> {
  const read = () => {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: line[3]! + (line[4] ?? 0), total: line.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

/**
 * The same database through a second small pool whose drizzle instance counts statements, to
 * tell how many round trips one command makes (begin/commit not included).
 */
export function countingDatabase(url: string): { database: Database; count(): number; close(): Promise<void> } {
  let n = 0;
  const client = postgres(url, { max: 2, onnotice: () => {}, prepare: true });
  const db = drizzle(client, { logger: { logQuery: () => void n++ } });
  const database: Database = { db, sql: client, url, close: () => client.end({ timeout: 5 }) };
  return { database, count: () => n, close: () => database.close() };
}

/**
 * Opens `concurrency` of the pool's connections before a timed phase, so the first raw baseline
 * does not pay for opening connections the phases after it reuse (a slower "before" lowers the
 * mean a ratio divides by, and raises the ratio).
 */
export async function warmConnections(sql: postgres.Sql, concurrency: number): Promise<void> {
  await runConcurrent(concurrency, concurrency, () => sql`select pg_sleep(0.01)`);
}
