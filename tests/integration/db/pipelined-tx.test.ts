import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database } from '../../../db/client.js';
import { createTestDatabase } from '../../support/db.js';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/**
 * db.transaction goes through db/pipelined-tx.ts: BEGIN is sent with the first statement instead
 * of on its own. These check that it is still a transaction in every way drizzle's callers rely on.
 */
describe('transactions with BEGIN pipelined', () => {
  let fresh: TestDatabase;
  let counted: Database;
  const sent: string[] = [];
  beforeAll(async () => {
    fresh = await createTestDatabase({ migrate: false });
    // Not postgres.js's own look-up of array types when the pool first connects.
    counted = connect(fresh.url, { max: 2, onQuery: (q) => void (q.includes('pg_catalog.pg_type') || sent.push(q.trim().toLowerCase())) });
    await fresh.sql`create table t (v int primary key)`;
  });
  afterAll(async () => {
    await counted.close();
    await fresh.drop();
  });
  const values = async () => (await fresh.sql<{ v: number }[]>`select v from t order by v`).map((r) => r.v);
  const clear = () => fresh.sql`delete from t`;

  it('commits the work, with BEGIN written before its first statement and COMMIT after its last', async () => {
    await clear();
    sent.length = 0;
    const out = await counted.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t values (1)`);
      await tx.execute(sql`insert into t values (2)`);
      return 'done';
    });
    expect(out).toBe('done');
    expect(await values()).toEqual([1, 2]);
    expect(sent).toEqual(['begin', 'insert into t values (1)', 'insert into t values (2)', 'commit']);
  });

  it("rolls back the first statement too when the work throws (it ran inside the transaction)", async () => {
    await clear();
    await expect(
      counted.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values (1)`);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await values()).toEqual([]);
  });

  it('fails and rolls back when a statement failed, even if the work caught the error', async () => {
    await clear();
    await expect(
      counted.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values (1)`);
        await tx.execute(sql`insert into t values (1)`).catch(() => undefined);
        return 'ignored';
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await values()).toEqual([]);
  });

  it('sends COMMIT right behind a statement the work left in flight (one round trip for both) and commits it', async () => {
    await clear();
    sent.length = 0;
    const events: string[] = [];
    const seen = sent.length;
    let last!: Promise<unknown>;
    await counted.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t values (1)`);
      // The answer takes a while (pg_sleep), so COMMIT can only be written before it if it did not wait.
      last = tx.execute(sql`insert into t select 2 from pg_sleep(0.2)`).then(() => void events.push(`answered after ${sent.slice(seen).join(', ')}`));
      last.catch(() => {});
    });
    await last;
    expect(events).toEqual(['answered after begin, insert into t values (1), insert into t select 2 from pg_sleep(0.2), commit']);
    expect(await values()).toEqual([1, 2]);
  });

  it('fails with its error, and commits nothing, when a statement left in flight fails (COMMIT came back as ROLLBACK)', async () => {
    await clear();
    await expect(
      counted.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values (1)`);
        tx.execute(sql`insert into t values (1)`).then(
          () => {},
          () => {},
        );
        return 'returned before its last statement failed';
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await values()).toEqual([]);
  });

  it('rolls back a failed savepoint alone and keeps the rest of the transaction', async () => {
    await clear();
    await counted.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t values (1)`);
      await expect(
        tx.transaction(async (sp) => {
          await sp.execute(sql`insert into t values (2)`);
          await sp.execute(sql`insert into t values (1)`);
        }),
      ).rejects.toMatchObject({ cause: { code: '23505' } });
      await tx.transaction(async (sp) => {
        await sp.execute(sql`insert into t values (3)`);
      });
    });
    expect(await values()).toEqual([1, 3]);
  });

  it('sends neither BEGIN nor COMMIT for a transaction whose work sends nothing, and keeps its result or error', async () => {
    sent.length = 0;
    expect(await counted.db.transaction(async () => 'nothing to do')).toBe('nothing to do');
    await expect(counted.db.transaction(async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(sent).toEqual([]);
  });

  it('begins before a savepoint that is the first thing the work sends', async () => {
    await clear();
    sent.length = 0;
    await counted.db.transaction(async (tx) => {
      await tx.transaction(async (sp) => {
        await sp.execute(sql`insert into t values (7)`);
      });
    });
    expect(sent).toEqual(['begin', 'savepoint s0', 'insert into t values (7)', 'release savepoint s0', 'commit']);
    expect(await values()).toEqual([7]);
  });

  it('gives the connection back to the pool however the transaction ended', async () => {
    await clear();
    // A pool of 2: a leaked connection would leave the later transactions waiting forever.
    for (let i = 0; i < 5; i++) {
      await counted.db.transaction(async () => {
        throw new Error('x');
      }).catch(() => undefined);
      await counted.db.transaction(async (tx) => tx.execute(sql`insert into t values (${i})`));
    }
    expect(await values()).toEqual([0, 1, 2, 3, 4]);
  });
});
