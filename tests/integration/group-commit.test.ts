import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGAIN, createGroupCommit, GroupCommitClosed, type BatchAnswer } from '../../src/work/group-commit.js';
import { createTestDatabase } from '../support/db.js';

/**
 * The group commit itself (src/work/group-commit.ts), with a batch that inserts its asks in one
 * statement on its own connection: batches carry several asks, a failed batch is tried ask by
 * ask, asks put back go first and only so often, and an ordered group sends the next batch only
 * once the one before has its locks.
 */
describe('group commit (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    await database.sql`create table asks (batch int not null, value int not null check (value >= 0))`;
  });
  afterAll(async () => {
    await database?.drop();
  });

  const rows = async (batch?: number) => (await database.sql<{ value: number }[]>`select value from asks where ${batch === undefined ? database.sql`true` : database.sql`batch = ${batch}`} order by value`).map((r) => r.value);

  it('asks that arrive together share a batch, each gets its own answer, in order', async () => {
    const sizes: number[] = [];
    const group = createGroupCommit<number, number>({
      url: database.url,
      maxBatch: 50,
      inFlight: 2,
      ordered: false,
      async run(conn, batch) {
        sizes.push(batch.length);
        const out = await conn<{ value: number }[]>`insert into asks select 1, v from unnest(${batch as number[]}::int[]) as v returning value`;
        return out.map((r) => r.value * 10);
      },
    });
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => group.submit(i)));
      expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => i * 10));
      expect(sizes.length).toBeLessThan(40);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(40);
      expect(await rows(1)).toHaveLength(40);
    } finally {
      await group.close();
    }
  });

  it('callers answered by one batch who ask again in the same turn share the next batch, not one alone and the rest after', async () => {
    const sizes: number[] = [];
    const group = createGroupCommit<number, number>({
      url: database.url,
      maxBatch: 50,
      inFlight: 1,
      ordered: true,
      async run(conn, batch, ctl) {
        sizes.push(batch.length);
        ctl.locked();
        await conn`insert into asks select 6, v from unnest(${batch as number[]}::int[]) as v`;
        return batch;
      },
    });
    try {
      // Eight callers, each asking again as soon as it is answered (a burst of sign-ups for one session).
      let next = 0;
      const caller = async () => {
        while (next < 80) await group.submit(next++);
      };
      await Promise.all(Array.from({ length: 8 }, caller));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(80);
      expect(sizes).toEqual(Array.from({ length: 10 }, () => 8));
      expect(await rows(6)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    } finally {
      await group.close();
    }
  });

  it('a batch that fails is tried ask by ask: only the bad ask fails, nothing of it is stored', async () => {
    const group = createGroupCommit<number, number>({
      url: database.url,
      maxBatch: 50,
      inFlight: 1,
      ordered: false,
      async run(conn, batch) {
        await conn`insert into asks select 2, v from unnest(${batch as number[]}::int[]) as v`;
        return batch;
      },
    });
    try {
      // The ten asked in one turn go as one batch, which the -1 breaks.
      const settled = await Promise.allSettled([0, 1, 2, 3, -1, 5, 6, 7, 8, 9].map((v) => group.submit(v)));
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(await rows(2)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    } finally {
      await group.close();
    }
  });

  it('an ask put back goes ahead of the queue, and fails once it has gone back too often', async () => {
    const seen: number[][] = [];
    let refuseFive = 1;
    const group = createGroupCommit<number, number>({
      url: database.url,
      maxBatch: 3,
      inFlight: 1,
      ordered: true,
      maxAgain: 2,
      async run(_conn, batch, ctl) {
        seen.push([...batch]);
        const answers: BatchAnswer<number>[] = batch.map((v) => v);
        const back = batch.flatMap((v, i) => ((v === 5 && refuseFive-- > 0) || v === 7 ? [i] : []));
        ctl.again(back);
        for (const i of back) answers[i] = AGAIN;
        ctl.locked();
        return answers;
      },
    });
    try {
      const settled = await Promise.allSettled([4, 5, 6, 7, 8, 9].map((v) => group.submit(v)));
      expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'failed'))).toEqual([4, 5, 6, 'failed', 8, 9]);
      // 4, 5 and 6 (5 back); then 5 first, with 7 and 8 (7 back); then 7 ahead of 9 (back again), then 7 alone, and out.
      expect(seen).toEqual([[4, 5, 6], [5, 7, 8], [7, 9], [7]]);
    } finally {
      await group.close();
    }
  });

  it('an ordered group sends the next batch only once the one before holds its locks', async () => {
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const group = createGroupCommit<number, number>({
      url: database.url,
      maxBatch: 10,
      inFlight: 2,
      ordered: true,
      async run(conn, batch, ctl) {
        events.push(`start ${batch.join(',')}`);
        if (batch[0] === 0) await held;
        await conn`select 1`;
        events.push(`locked ${batch.join(',')}`);
        ctl.locked();
        return batch;
      },
    });
    try {
      const first = group.submit(0);
      await new Promise((r) => setImmediate(r));
      const rest = [1, 2].map((v) => group.submit(v));
      await new Promise((r) => setTimeout(r, 200));
      // Two may be in flight, but the second waits for the first's locks.
      expect(events).toEqual(['start 0']);
      release();
      expect(await Promise.all([first, ...rest])).toEqual([0, 1, 2]);
      expect(events).toEqual(['start 0', 'locked 0', 'start 1,2', 'locked 1,2']);
    } finally {
      await group.close();
    }
  });
  it('close answers every ask already taken (those queued behind a running batch too) and refuses later ones', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const group = createGroupCommit<number, number>({
      url: database.url,
      maxBatch: 50,
      inFlight: 1,
      ordered: true,
      async run(conn, batch, ctl) {
        ctl.locked();
        // The first batch is held until close was called, with the rest queued behind it.
        if (batch[0] === 0) await gate;
        await conn`insert into asks select 5, v from unnest(${batch as number[]}::int[]) as v`;
        return batch;
      },
    });
    const first = group.submit(0);
    await new Promise((r) => setTimeout(r, 50));
    const queued = Array.from({ length: 9 }, (_, i) => group.submit(i + 1));
    const closed = group.close();
    await expect(group.submit(99)).rejects.toBeInstanceOf(GroupCommitClosed);
    release();
    // Closing again is the same close.
    await Promise.all([closed, group.close()]);
    expect(await Promise.all([first, ...queued])).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(await rows(5)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});
