import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { connect, migrateDatabase, MIGRATION_LOCK_KEY } from '../../../db/client.js';
import { createTestDatabase } from '../../support/db.js';
import { waitFor } from '../../support/wait.js';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

const journal = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../../db/migrations/meta/_journal.json'), 'utf8')) as {
  entries: { tag: string }[];
};

/** What a correctly migrated database holds: every migration recorded once, and the tables of the last ones. */
async function schemaState(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [applied] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const columns = await sql<{ column_name: string }[]>`
      select column_name from information_schema.columns where table_name = 'case_photos' and column_name = 'thumbnail_key'`;
    const tables = await sql<{ n: number }[]>`select count(*)::int as n from information_schema.tables where table_schema = 'public'`;
    return { applied: applied!.n, thumbnailColumn: columns.length, tables: tables[0]!.n };
  } finally {
    await sql.end();
  }
}

describe('migrateDatabase', () => {
  let fresh: TestDatabase | undefined;
  afterEach(async () => {
    await fresh?.drop();
    fresh = undefined;
  });

  it('lets two processes started together both migrate a fresh database, applying each migration once', async () => {
    fresh = await createTestDatabase({ migrate: false });
    // Two "processes": each its own pool on its own connections, as a web and a worker role have.
    const web = connect(fresh.url, { max: 2 });
    const worker = connect(fresh.url, { max: 2 });
    try {
      await Promise.all([migrateDatabase(web), migrateDatabase(worker)]);
    } finally {
      await Promise.all([web.close(), worker.close()]);
    }
    const state = await schemaState(fresh.url);
    expect(state.applied).toBe(journal.entries.length);
    expect(state.thumbnailColumn).toBe(1);
    expect(state.tables).toBeGreaterThan(10);
    // And again later (a restart): nothing to do, nothing fails.
    const again = connect(fresh.url, { max: 1 });
    await migrateDatabase(again);
    await again.close();
    expect((await schemaState(fresh.url)).applied).toBe(journal.entries.length);
  });

  it('waits for the advisory lock before touching the schema', async () => {
    fresh = await createTestDatabase({ migrate: false });
    const holder = postgres(fresh.url, { max: 1, onnotice: () => {} });
    const database = connect(fresh.url, { max: 1 });
    try {
      await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
      const migrating = migrateDatabase(database);
      // The migration's own connection is seen waiting on the advisory lock …
      await waitFor(async () => {
        const waiting = await holder<{ n: number }[]>`
          select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`;
        return waiting[0]!.n === 1;
      }, 'the migration to wait on the advisory lock');
      // … and has created nothing yet.
      const [journalTable] = await holder<{ t: string | null }[]>`select to_regclass('drizzle.__drizzle_migrations')::text as t`;
      expect(journalTable!.t).toBeNull();
      await holder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
      await migrating;
      expect((await schemaState(fresh.url)).applied).toBe(journal.entries.length);
    } finally {
      await database.close();
      await holder.end();
    }
  });
});
