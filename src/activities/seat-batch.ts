import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { connect } from '../../db/client.js';
import type { Logger } from '../log.js';
import type { AfterCommitSink } from '../work/unit.js';
import { claimedFrom, seatStatements, type SeatClaim, type SeatRequest } from './seat-claim.js';

/** Sign-ups whose seats are claimed together, several per transaction (seat-batch.ts). */
export interface SeatClaims {
  /** The seat or place in line, committed (with its message) when this resolves; undefined: a live sign-up exists. */
  claim(sessionId: string, request: SeatRequest): Promise<SeatClaim | undefined>;
  close(): Promise<void>;
}

const dialect = new PgDialect();

/** Most sign-ups in one transaction (one statement per session in it). */
const MAX_BATCH = 200;

/**
 * 组提交 (group commit) of sign-ups. A burst for one session queues on its row lock, and a lock
 * held through a commit lets one sign-up through per WAL flush, however many wait: a raw INSERT
 * at the same concurrency shares its flushes and ran 8–12 times faster (bench/signups.ts). Here
 * the sign-ups that arrive while a transaction is running are taken together by the next one, in
 * arrival order, one claim statement per session (seat-claim.ts), so a flush carries them all.
 *
 * The transactions run on two connections of their own (not the pool's), so callers that hold a
 * pool connection in their own transaction while they wait can never starve them; with two, the
 * next batch is already waiting for the locks in PostgreSQL while the one before commits. A sign-up
 * therefore commits before its caller's transaction does: it is whole on its own (the sign-up,
 * the seat counter and its message), and a caller that rolls back and tries again is told it is
 * signed up already. Should a batch fail, each of its sign-ups is tried alone, so one bad request
 * fails only itself.
 */
export function createSeatClaims(deps: { url: string; sink: AfterCommitSink; logger: Logger }): SeatClaims {
  // A lock these connections wait for is one a caller's transaction holds while it may be waiting here.
  const database = connect(deps.url, { max: 2, settings: { lock_timeout: '10s' } });
  type Waiting = { sessionId: string; request: SeatRequest; resolve: (c: SeatClaim | undefined) => void; reject: (err: unknown) => void };
  let queued: Waiting[] = [];
  let inFlight = 0;
  /** A batch is sent but does not hold its sessions' locks yet: the next one waits, so batches lock in the order they were taken. */
  let locking = false;

  /**
   * One transaction for `batch`, sent in one write: BEGIN, each session's lock and claim, COMMIT
   * (nothing is decided between them, so nothing waits for an answer; a statement that fails
   * aborts the transaction and its COMMIT rolls back). `locked` once the claims are in: their
   * locks are held and only the commit is left.
   */
  async function run(batch: Waiting[], locked: () => void): Promise<void> {
    const bySession = new Map<string, Waiting[]>();
    for (const w of batch) bySession.set(w.sessionId, [...(bySession.get(w.sessionId) ?? []), w]);
    const groups = [...bySession];
    try {
      const conn = await database.sql.reserve();
      try {
        const send = (q: SQL) => {
          const { sql: text, params } = dialect.sqlToQuery(q);
          return conn.unsafe(text, params as never[], { prepare: true }).execute();
        };
        const begun = conn.unsafe('begin').execute();
        const claims = groups.map(([sessionId, ws]) => seatStatements(sessionId, ws.map((w) => w.request)).map(send));
        const committed = conn.unsafe('commit').execute();
        const all = [begun, ...claims.flat(), committed];
        void Promise.allSettled(claims.flat()).then(locked);
        const settled = await Promise.allSettled(all);
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        const done = groups.map(([, ws], i) => claimedFrom((settled[2 + 2 * i] as PromiseFulfilledResult<unknown>).value, ws.length));
        groups.forEach(([, ws], i) => ws.forEach((w, j) => w.resolve(done[i]!.claims[j])));
        // Committed: the next batch need not wait for the queue (a lost enqueue is the outbox sweep's).
        const messages = done.flatMap((d) => d.messages);
        if (messages.length) void deps.sink.deliver(messages).catch((err: Error) => deps.logger.warn({ err: err.message, outboxIds: messages.map((m) => m.outboxId) }, 'enqueue failed; the outbox sweep will retry'));
      } finally {
        conn.release();
      }
    } catch (err) {
      locked();
      if (batch.length === 1) return batch[0]!.reject(err);
      for (const w of batch) await run([w], () => {});
    }
  }

  /**
   * Starts the next batch once the one before it holds its locks: it waits for them in
   * PostgreSQL, not here, and runs the moment that commit releases them.
   */
  function pump(): void {
    if (queued.length === 0 || inFlight >= 2 || locking) return;
    const batch = queued.slice(0, MAX_BATCH);
    queued = queued.slice(MAX_BATCH);
    inFlight++;
    locking = true;
    let once = false;
    const locked = () => {
      if (once) return;
      once = true;
      locking = false;
      pump();
    };
    void run(batch, locked).finally(() => {
      inFlight--;
      pump();
    });
  }

  return {
    claim(sessionId, request) {
      return new Promise((resolve, reject) => {
        queued.push({ sessionId, request, resolve, reject });
        pump();
      });
    },
    close: () => database.close(),
  };
}
