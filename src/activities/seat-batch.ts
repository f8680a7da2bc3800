import type postgres from 'postgres';
import type { Db } from '../../db/client.js';
import type { Channel } from '../dialog/events.js';
import type { Logger } from '../log.js';
import { settledOrThrow } from '../../db/pipelined-tx.js';
import { AGAIN, createGroupCommit, sendQuery, type BatchAnswer, type BatchControl } from '../work/group-commit.js';
import type { AfterCommitSink } from '../work/unit.js';
import type { ActivityError } from './errors.js';
import { claimedFrom, seatQueries, type SeatClaim, type SeatQueries, type SeatRequest, type SessionTexts } from './seat-claim.js';
import { sessionFacts, type SessionFacts } from './signup-facts.js';

/** A sign-up for the group commit: its session, who asks, and how the session's texts read. */
export interface SeatAsk {
  sessionId: string;
  request: SeatRequest;
  texts(facts: SessionFacts): SessionTexts;
}

type SeatAnswer = SeatClaim | ActivityError | undefined;

/** Sign-ups checked and claimed together, several per transaction (seat-batch.ts). */
export interface SeatClaims {
  /**
   * The seat or place in line, committed (with its message) when this resolves, or the refusal
   * (closed, outside the area, …); undefined: a live sign-up exists.
   */
  signUp(ask: SeatAsk): Promise<SeatAnswer>;
  close(): Promise<void>;
}


/** Most sign-ups in one transaction (one statement per session in it). */
const MAX_BATCH = 200;

/** Sessions whose texts are kept (each claim checks them against the session; this only bounds memory). */
const MAX_SESSIONS = 1000;

/**
 * 组提交 (group commit) of sign-ups (src/work/group-commit.ts). A burst for one session queues on
 * its row lock, and a lock held through a commit lets one sign-up through per WAL flush, however
 * many wait: a raw INSERT at the same concurrency shares its flushes and ran 8–12 times faster
 * (bench/signups.ts). Here each batch makes one claim statement per session (seat-claim.ts: the
 * checks, the seats, the messages), sent without waiting with its BEGIN and COMMIT, so one round
 * trip and one flush carry them all. The texts of each session are written once and kept; a
 * claim whose session changed since writes nothing, and its sign-ups go again at the head of the
 * queue with the session read anew.
 *
 * A sign-up thus costs its caller no round trip of its own (a transaction that sends nothing sends
 * no BEGIN or COMMIT, db/pipelined-tx.ts) and commits before the caller's transaction does: it is
 * whole on its own (the sign-up, the seat counter and its message), and a caller that rolls back
 * and tries again is told it is signed up already. Batches are ordered, two in flight: the next
 * is already waiting for the session locks in PostgreSQL while the one before commits, and
 * batches lock in the order they were taken.
 */
export function createSeatClaims(deps: {
  url: string;
  sink: AfterCommitSink;
  logger: Logger;
  /**
   * Channels whose messages the claim writes already sent (the web chat, when this process serves
   * it: its "send" is the committed row, and the sink only wakes the chat's polls), so a burst
   * enqueues no deliver job for them. Read at each claim: the app fills it once the web chat is up.
   */
  sentOnCommit?: ReadonlySet<Channel>;
}): SeatClaims {
  /** Each session's texts, and its statements as built for the channels sent on commit (`sent`). */
  const known = new Map<string, { texts: SessionTexts; queries?: { sent: string; q: SeatQueries } }>();
  const queriesOf = (sessionId: string, sentOnCommit: Channel[]): SeatQueries => {
    const k = known.get(sessionId);
    // A session that does not exist has no texts: its claim refuses every sign-up (not_found).
    if (!k) return seatQueries({ sessionId, shown: '', texts: [] }, { sentOnCommit });
    const sent = sentOnCommit.join();
    if (k.queries?.sent !== sent) k.queries = { sent, q: seatQueries(k.texts, { sentOnCommit }) };
    return k.queries.q;
  };

  /** The texts of the batch's sessions, those not kept read in one statement. */
  async function textsOf(db: Db, batch: readonly SeatAsk[]): Promise<void> {
    const missing = [...new Set(batch.filter((w) => !known.has(w.sessionId)).map((w) => w.sessionId))];
    if (missing.length === 0) return;
    const facts = await sessionFacts(db, missing);
    for (const f of facts) {
      if (known.size >= MAX_SESSIONS) known.delete(known.keys().next().value!);
      known.set(f.sessionId, { texts: batch.find((w) => w.sessionId === f.sessionId)!.texts(f) });
    }
  }

  /**
   * One transaction for `batch`, sent without waiting (postgres.js writes it in one or two socket
   * writes): BEGIN, each session's lock and claim, COMMIT (nothing is decided between them, so
   * nothing waits for an answer; a statement that fails aborts the transaction and its COMMIT
   * rolls back). `locked` once the claims are in: their locks are held (and the sign-ups of a
   * changed session are back in the queue) and only the commit is left.
   */
  async function claim(conn: postgres.ReservedSql, batch: readonly SeatAsk[], ctl: BatchControl): Promise<BatchAnswer<SeatAnswer>[]> {
    await textsOf(ctl.db, batch);
    const bySession = new Map<string, number[]>();
    batch.forEach((w, i) => bySession.set(w.sessionId, [...(bySession.get(w.sessionId) ?? []), i]));
    const groups = [...bySession];
    const begun = conn.unsafe('begin').execute();
    const sentOnCommit = [...(deps.sentOnCommit ?? [])];
    const claims = groups.map(([sessionId, is]) => {
      const q = queriesOf(sessionId, sentOnCommit);
      return [sendQuery(conn, q.lock), sendQuery(conn, q.claim(is.map((i) => batch[i]!.request)))];
    });
    const committed = conn.unsafe('commit').execute();
    const answered = Promise.all(claims.map(([, c]) => c)).then((rows) => {
      const done = rows.map((r, i) => claimedFrom(r, groups[i]![1].length));
      // A changed session's sign-ups go ahead of everything after them (nothing later has locked yet: it waits for `locked`).
      groups.forEach(([sessionId, is], i) => {
        if (!done[i]!.stale) return;
        known.delete(sessionId);
        ctl.again(is);
      });
      return done;
    });
    void answered.then(ctl.locked, ctl.locked);
    await settledOrThrow<unknown>([begun, ...claims.flat(), committed, answered]);
    const done = await answered;
    const answers: BatchAnswer<SeatAnswer>[] = batch.map(() => AGAIN);
    groups.forEach(([, is], i) => {
      if (!done[i]!.stale) is.forEach((n, j) => (answers[n] = done[i]!.claims[j]));
    });
    // Committed: the callers need not wait for the queue (a lost enqueue is the outbox sweep's).
    const messages = done.flatMap((d) => d.messages);
    if (messages.length) void deps.sink.deliver(messages).catch((err: Error) => deps.logger.warn({ err: err.message, outboxIds: messages.map((m) => m.outboxId) }, 'enqueue failed; the outbox sweep will retry'));
    return answers;
  }

  // A lock these connections wait for is one a caller's transaction holds while it may be waiting here.
  const group = createGroupCommit<SeatAsk, SeatAnswer>({ url: deps.url, settings: { lock_timeout: '10s' }, maxBatch: MAX_BATCH, inFlight: 2, ordered: true, run: claim });
  return { signUp: (ask) => group.submit(ask), close: () => group.close() };
}
