import type { Query } from 'drizzle-orm';
import type postgres from 'postgres';
import { connect, type Db } from '../../db/client.js';

/**
 * What a batch answers for one of its asks: the answer, or `AGAIN` when the batch wrote nothing
 * for it and has already put it back at the head of the queue (`BatchControl.again`).
 */
export const AGAIN: unique symbol = Symbol('again');
export type BatchAnswer<Answer> = Answer | typeof AGAIN;

export interface BatchControl {
  /** For a read the batch needs besides its own statements (its pool has one connection more than batches in flight, so this never waits for one). */
  db: Db;
  /**
   * The batch holds what the next batch must wait for (its row locks): the next one may be sent.
   * Only `ordered` group commits wait for it; calling it twice, or after the batch ended, is harmless.
   */
  locked(): void;
  /**
   * These asks of the batch go again, ahead of everything queued, because the batch found the
   * facts they were prepared with changed (each at most `maxAgain` times, then it fails). Call it
   * before `locked`, so nothing taken after them runs first.
   */
  again(indexes: readonly number[]): void;
}

/** A statement built once (text and parameters) on a batch's connection, prepared; sent at once, so several pipeline. */
export const sendQuery = (conn: postgres.ReservedSql, q: Query) => conn.unsafe(q.sql, q.params as never[], { prepare: true }).execute();


export interface GroupCommit<Ask, Answer> {
  /** Resolves once the batch that took `ask` has committed (or refused it); rejects if it failed even alone, or if the group commit is closed. */
  submit(ask: Ask): Promise<Answer>;
  /**
   * Stops taking asks (a later `submit` rejects at once, so its caller can say it was not
   * stored), runs every ask already taken to its answer, then closes the connections.
   */
  close(): Promise<void>;
}

/** What `submit` rejects with once `close` was called. */
export class GroupCommitClosed extends Error {
  constructor() {
    super('group commit: closed, the ask was not taken');
  }
}

interface Waiting<Ask, Answer> {
  ask: Ask;
  resolve(answer: Answer): void;
  reject(err: unknown): void;
  /** Times a batch put it back (`again`). */
  again: number;
}

/**
 * 组提交 (group commit), outside the callers' transactions: the asks that arrive while a batch is
 * running are taken together by the next one, in arrival order, so one round trip, one commit
 * and one WAL flush carry them all. A burst of small writes — sign-ups for one session
 * (seat-batch.ts), ballots when a vote opens (consultations/ballot-batch.ts) — otherwise pays a
 * statement, a commit and a flush each, and a raw INSERT at the same concurrency already shares
 * its flushes (bench/signups.ts, bench/ballots.ts).
 *
 * An ask commits before its caller's transaction does: each batch's work must be whole on its
 * own. The batches run on connections of their own (not the pool's), `inFlight` of them, so
 * callers holding a pool connection while they wait can never starve them. `ordered`: the next
 * batch is sent only once the one before has called `locked` (it then waits for those locks in
 * PostgreSQL, not here, and runs the moment that commit releases them), so lock order is arrival
 * order. Should a batch fail, each of its asks is tried alone, so one bad ask fails only itself.
 */
export function createGroupCommit<Ask, Answer>(opts: {
  url: string;
  /** Server settings of the batches' connections (e.g. `lock_timeout`). */
  settings?: Record<string, string>;
  maxBatch: number;
  inFlight: number;
  ordered: boolean;
  /** How often one ask may be put back before it fails. */
  maxAgain?: number;
  /** Runs one batch on its reserved connection: one answer per ask, in order. */
  run(conn: postgres.ReservedSql, batch: readonly Ask[], ctl: BatchControl): Promise<readonly BatchAnswer<Answer>[]>;
}): GroupCommit<Ask, Answer> {
  const database = connect(opts.url, { max: opts.inFlight + 1, settings: opts.settings });
  const maxAgain = opts.maxAgain ?? 3;
  let queued: Waiting<Ask, Answer>[] = [];
  let inFlight = 0;
  /** An ordered batch is sent but has not called `locked` yet: the next one waits. */
  let locking = false;
  /** Set by `close`: called once nothing is queued or in flight. */
  let onDrained: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  /** A pump is scheduled for the end of this turn of the event loop (`submit`). */
  let pumpSoon = false;

  async function runBatch(batch: Waiting<Ask, Answer>[], locked: () => void): Promise<void> {
    const back = new Set<number>();
    const ctl: BatchControl = {
      db: database.db,
      locked,
      again(indexes) {
        const put: Waiting<Ask, Answer>[] = [];
        for (const i of indexes) {
          const w = batch[i]!;
          if (back.has(i)) continue;
          back.add(i);
          if (++w.again <= maxAgain) put.push(w);
          else w.reject(new Error(`group commit: an ask went back ${maxAgain} times`));
        }
        queued = [...put, ...queued];
      },
    };
    try {
      const conn = await database.sql.reserve();
      let answers: readonly BatchAnswer<Answer>[];
      try {
        answers = await opts.run(conn, batch.map((w) => w.ask), ctl);
      } finally {
        conn.release();
      }
      batch.forEach((w, i) => {
        const a = answers[i];
        if (!back.has(i) && a !== AGAIN) w.resolve(a as Answer);
      });
    } catch (err) {
      locked();
      if (batch.length === 1) {
        if (!back.has(0)) batch[0]!.reject(err);
        return;
      }
      for (const [i, w] of batch.entries()) if (!back.has(i)) await runBatch([w], () => {});
    }
  }

  function pump(): void {
    if (queued.length === 0 || inFlight >= opts.inFlight || locking) return;
    const batch = queued.slice(0, opts.maxBatch);
    queued = queued.slice(opts.maxBatch);
    inFlight++;
    let once = false;
    const locked = () => {
      if (once) return;
      once = true;
      locking = false;
      pump();
    };
    if (opts.ordered) locking = true;
    void runBatch(batch, locked).finally(() => {
      locked();
      inFlight--;
      pump();
      if (onDrained && inFlight === 0 && queued.length === 0) onDrained();
    });
    if (!opts.ordered) pump();
  }

  return {
    submit(ask) {
      if (onDrained) return Promise.reject(new GroupCommitClosed());
      return new Promise<Answer>((resolve, reject) => {
        queued.push({ ask, resolve, reject, again: 0 });
        // Not at once: callers that a committed batch just answered ask again within the same
        // turn of the event loop, and sending the first of them alone (nothing else in flight)
        // made every other batch a batch of one, for one session's sign-ups half the commits
        // wasted (bench/signups-rate.ts: batches of 1 and 7 alternating for 8 callers, then all
        // of 8). The wait is one turn, a fraction of a millisecond.
        if (pumpSoon) return;
        pumpSoon = true;
        setImmediate(() => {
          pumpSoon = false;
          pump();
        });
      });
    },
    close() {
      // Asks taken are answered before the connections go (an ask put back by `again` is still queued).
      closing ??= (async () => {
        const drained = new Promise<void>((resolve) => (onDrained = resolve));
        if (inFlight === 0 && queued.length === 0) onDrained!();
        await drained;
        await database.close();
      })();
      return closing;
    },
  };
}
