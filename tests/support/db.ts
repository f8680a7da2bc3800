import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { connect, migrateDatabase, type Database } from '../../db/client.js';

/** The machine's PostgreSQL (trust auth); tests make their own database inside it. */
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The code key (CODE_SECRET) of every test config and of the fixtures that issue codes. */
export const TEST_CODE_SECRET = 'linli-test-code-secret-0123456789abcdef';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A fresh, migrated database (unless `migrate: false`) for one test file, dropped afterwards, so
 * files run in any order and in parallel.
 */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<Database & { drop(): Promise<void> }> {
  const name = `linli_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(TEST_PG_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const database = connect(withDatabase(TEST_PG_URL, name));
  if (opts.migrate !== false) await migrateDatabase(database);
  return {
    ...database,
    async drop() {
      await database.close();
      const a = postgres(TEST_PG_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/** A unique queue namespace (Redis prefix or PG schema) per test. */
export function uniqueQueuePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}
