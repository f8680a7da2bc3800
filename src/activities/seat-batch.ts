import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { connect } from '../../db/client.js';
import type { Logger } from '../log.js';
import type { AfterCommitSink } from '../work/unit.js';
import { ActivityError } from './errors.js';
import { claimedFrom, seatStatements, type SeatClaim, type SeatOutcomes, type SeatRequest } from './seat-claim.js';
import { signupFactsMany, type SignupAsk, type SignupFacts } from './signup-facts.js';

/** A sign-up for the group commit: what it asks, and how its messages read once its facts are known. */
export interface SeatAsk extends SignupAsk {
  outcomes(facts: SignupFacts): SeatOutcomes;
}

/** Sign-ups checked and claimed together, several per statement (seat-batch.ts). */
export interface SeatClaims {
  /**
   * The seat or place in line, committed (with its message) when this resolves; undefined: a live
   * sign-up exists. Rejects with the ActivityError that refuses it (closed, outside scope, …).
   */
  signUp(ask: SeatAsk): Promise<SeatClaim | undefined>;
  close(): Promise<void>;
}

const dialect = new PgDialect();

/** Most sign-ups in one statement (facts) or one transaction (claims, one statement per session). */
const MAX_BATCH = 200;

type Pending<T> = T & { resolve: (c: SeatClaim | undefined) => void; reject: (err: unknown) => void };
type Asked = Pending<{ ask: SeatAsk }>;
type Ready = Pending<{ sessionId: string; request: SeatRequest }>;

/**
 * 组提交 (group commit) of sign-ups, outside the callers' transactions, in two stages that each
 * take together whatever arrived while their last round trip was out:
 *
 * - the facts of every sign-up waiting, one statement for all (signup-facts.ts), on the pool
 *   below without a transaction (the claim checks a live sign-up again under the lock); a refusal
 *   is its caller's alone, and the messages of both outcomes are written out here;
 * - the claims, in arrival order, one transaction per batch with one claim statement per session
 *   (seat-claim.ts), sent in one write with its BEGIN and COMMIT, so one WAL flush carries them all.
 *   A burst for one session queues on its row lock, and a lock held through a commit lets one
 *   transaction through per flush, however many wait: a raw INSERT at the same concurrency shares
 *   its flushes and ran 8–12 times faster than one sign-up per transaction (bench/signups.ts).
 *
 * A sign-up thus costs its caller no round trip of its own (a transaction that sends nothing sends
 * no BEGIN or COMMIT, db/pipelined-tx.ts) and commits before the caller's transaction does: it is
 * whole on its own (the sign-up, the seat counter and its message), and a caller that rolls back
 * and tries again is told it is signed up already. The pool is its own (three connections: facts,
 * and two for claims, so the next batch is already waiting for the locks in PostgreSQL while the
 * one before commits), so callers holding a pool connection while they wait can never starve it.
 * Should a batch fail, each of its sign-ups is tried alone, so one bad request fails only itself.
 */
export function createSeatClaims(deps: { url: string; sink: AfterCommitSink; logger: Logger }): SeatClaims {
  // A lock these connections wait for is one a caller's transaction holds while it may be waiting here.
  const database = connect(deps.url, { max: 3, settings: { lock_timeout: '10s' } });
  let asked: Asked[] = [];
  let reading = false;
  let queued: Ready[] = [];
  let inFlight = 0;
  /** A batch is sent but does not hold its sessions' locks yet: the next one waits, so batches lock in the order they were taken. */
  let locking = false;

  /** The facts of `batch`, one statement; each sign-up goes on to its claim or is refused. */
  async function read(batch: Asked[]): Promise<void> {
    let facts: (SignupFacts | ActivityError)[];
    try {
      facts = await signupFactsMany(database.db, batch.map((a) => a.ask));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      for (const a of batch) await read([a]);
      return;
    }
    batch.forEach(({ ask, resolve, reject }, i) => {
      const f = facts[i]!;
      if (f instanceof ActivityError) return reject(f);
      try {
        queued.push({ sessionId: ask.sessionId, request: { personId: ask.personId, participantId: ask.participantId, at: ask.at, ...ask.outcomes(f) }, resolve, reject });
      } catch (err) {
        reject(err);
      }
    });
    pump();
  }

  /** Reads the next batch of facts once the one before is answered (so they go on in arrival order). */
  function readNext(): void {
    if (reading || asked.length === 0) return;
    reading = true;
    const batch = asked.slice(0, MAX_BATCH);
    asked = asked.slice(MAX_BATCH);
    void read(batch).finally(() => {
      reading = false;
      readNext();
    });
  }

  /**
   * One transaction for `batch`, sent in one write: BEGIN, each session's lock and claim, COMMIT
   * (nothing is decided between them, so nothing waits for an answer; a statement that fails
   * aborts the transaction and its COMMIT rolls back). `locked` once the claims are in: their
   * locks are held and only the commit is left.
   */
  async function claim(batch: Ready[], locked: () => void): Promise<void> {
    const bySession = new Map<string, Ready[]>();
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
      for (const w of batch) await claim([w], () => {});
    }
  }

  /**
   * Starts the next batch of claims once the one before it holds its locks: it waits for them in
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
    void claim(batch, locked).finally(() => {
      inFlight--;
      pump();
    });
  }

  return {
    signUp(ask) {
      return new Promise((resolve, reject) => {
        asked.push({ ask, resolve, reject });
        readNext();
      });
    },
    close: () => database.close(),
  };
}
