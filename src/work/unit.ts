import type { z } from 'zod';
import type { Database, Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { Channel } from '../dialog/events.js';
import type { Say } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { notifyPeople } from '../outbox/notify.js';
import { queueMessages, type OutboxItem, type OutboxPriority, type QueuedMessage } from '../outbox/outbox.js';
import { cancelTimer, setTimers, type TimerRef, type TimerSpec } from '../timers/timers.js';

/**
 * 工作单元 (unit of work): the one way flows, jobs and HTTP handlers change state. Inside one
 * transaction a command changes its rows, queues messages (outbox rows), arms timers (timer rows)
 * and names jobs to start; after the commit, and only then, the messages, timer wake-ups and jobs
 * are handed to the queues, best effort: a crash or a lost Redis between commit and enqueue loses
 * nothing, because the outbox sweep, the timer sweep and each module's own sweep find the rows.
 *
 *   const work = createWork({ database, sink, logger });
 *   await work.run(async (uow) => {
 *     await uow.tx.update(...);                       // state
 *     await uow.notify(personId, (t) => ({ text }));  // a message, in their language
 *     await uow.timers.set({ kind, subjectId, seq, dueAt });
 *     uow.enqueue(SOME_JOB, { id });                  // after commit
 *   });
 *
 * The dialog engine opens one per inbound message (`openUnit`), the job processors one per
 * batch, so every module gets the same guarantees by the same code.
 */
export interface UnitOfWork {
  readonly tx: Tx;
  /** Outbox rows in this transaction (see src/outbox/outbox.ts for priority / notBefore / dedupeKey). */
  queue(items: readonly OutboxItem[]): Promise<QueuedMessage[]>;
  /** Outbox rows this transaction wrote by a statement of its own (the engine's state + replies in one): delivered after commit like `queue`'s. */
  adopt(messages: QueuedMessage[]): QueuedMessage[];
  /** A message to a person on every channel they use (or only `opts.channel`), in their language. */
  notify(personId: string, build: (t: Messages, locale: Locale) => Say, opts?: NotifyOptions): Promise<void>;
  /** Many people at once, in order, in one round trip. */
  notifyAll(items: readonly { personId: string; build: (t: Messages, locale: Locale) => Say }[], opts?: NotifyOptions): Promise<void>;
  readonly timers: {
    /** Arms a timer (seq-guarded, src/timers/timers.ts); its wake-up job is added after commit. */
    set(spec: TimerSpec): Promise<void>;
    /** Many at once, one statement. */
    setMany(specs: readonly TimerSpec[]): Promise<void>;
    cancel(ref: TimerRef): Promise<void>;
    /**
     * Arms a timer without waiting: written just before the transaction (or savepoint) commits.
     * For callers with a synchronous hook (the case `Effects.schedule`).
     */
    setLater(spec: TimerSpec): void;
    /** Only the wake-up after commit, for a timer row already written (the batch firing re-arms rows itself). */
    wake(spec: TimerSpec): void;
  };
  /** Starts a job after commit (payload checked against the job's schema by the producer). */
  enqueue<P>(job: JobRef<P>, payload: P): void;
  /** Anything else to do after commit (best effort, like the rest). */
  afterCommit(work: () => Promise<void>): void;
  /**
   * Runs `work` in a savepoint: if it throws, its rows are rolled back and so is everything it
   * queued here, and the error is rethrown; the transaction goes on (one bad timer in a batch).
   */
  savepoint<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T>;
}

export interface NotifyOptions {
  channel?: Channel;
  priority?: OutboxPriority;
}

/** What a job definition looks like to the core (the definitions live in jobs/, with BullMQ). */
export interface JobRef<P> {
  readonly name: string;
  readonly payload: z.ZodType<P>;
}

/** Where committed work goes: implemented by jobs/ (the core never imports BullMQ). */
export interface AfterCommitSink {
  deliver(messages: QueuedMessage[]): Promise<void>;
  wake(timers: TimerSpec[]): Promise<void>;
  enqueue(jobs: { job: JobRef<unknown>; payload: unknown }[]): Promise<void>;
}

interface Collected {
  /** Timers to write before commit (setLater). */
  pending: TimerSpec[];
  messages: QueuedMessage[];
  timers: TimerSpec[];
  jobs: { job: JobRef<unknown>; payload: unknown }[];
  after: (() => Promise<void>)[];
}

/**
 * A unit of work on a transaction the caller owns (the dialog engine keeps its own transaction
 * and retry). Call `flush()` once the transaction committed; never when it rolled back.
 */
export function openUnit(tx: Tx): { uow: UnitOfWork; prepare(): Promise<void>; collected: () => Collected } {
  let c: Collected = empty();
  const prepare = async (t: Tx) => {
    if (c.pending.length === 0) return;
    const pending = c.pending;
    c.pending = [];
    c.timers.push(...(await setTimers(t, pending)));
  };
  const unit = (t: Tx): UnitOfWork => ({
    tx: t,
    async queue(items) {
      const q = await queueMessages(t, items);
      c.messages.push(...q);
      return q;
    },
    adopt(messages) {
      c.messages.push(...messages);
      return messages;
    },
    async notify(personId, build, opts) {
      c.messages.push(...(await notifyPeople(t, [{ personId, build }], opts)));
    },
    async notifyAll(items, opts) {
      c.messages.push(...(await notifyPeople(t, items, opts)));
    },
    timers: {
      async set(spec) {
        c.timers.push(...(await setTimers(t, [spec])));
      },
      async setMany(specs) {
        c.timers.push(...(await setTimers(t, specs)));
      },
      async cancel(ref) {
        await cancelTimer(t, ref);
      },
      setLater(spec) {
        c.pending.push(spec);
      },
      wake(spec) {
        c.timers.push(spec);
      },
    },
    enqueue(job, payload) {
      c.jobs.push({ job: job as JobRef<unknown>, payload });
    },
    afterCommit(work) {
      c.after.push(work);
    },
    async savepoint(work) {
      await prepare(t);
      const mark = { messages: c.messages.length, timers: c.timers.length, jobs: c.jobs.length, after: c.after.length };
      try {
        return await t.transaction(async (sp) => {
          const result = await work(unit(sp as unknown as Tx));
          await prepare(sp as unknown as Tx);
          return result;
        });
      } catch (err) {
        c = {
          pending: [],
          messages: c.messages.slice(0, mark.messages),
          timers: c.timers.slice(0, mark.timers),
          jobs: c.jobs.slice(0, mark.jobs),
          after: c.after.slice(0, mark.after),
        };
        throw err;
      }
    },
  });
  return { uow: unit(tx), prepare: () => prepare(tx), collected: () => c };
}

function empty(): Collected {
  return { pending: [], messages: [], timers: [], jobs: [], after: [] };
}

/** Hands what a committed unit of work collected to the queues; failures are logged, never thrown. */
export async function flushUnit(c: Collected, sink: AfterCommitSink, logger: Logger): Promise<void> {
  const warn = (msg: string, ids: Record<string, unknown> = {}) => (err: unknown) => logger.warn({ err: (err as Error).message, ...ids }, msg);
  await Promise.all([
    c.messages.length ? sink.deliver(c.messages).catch(warn('enqueue failed; the outbox sweep will retry', { outboxIds: c.messages.map((m) => m.outboxId) })) : undefined,
    c.timers.length ? sink.wake(c.timers).catch(warn('timer wake-up failed; the timer sweep will fire them')) : undefined,
    c.jobs.length ? sink.enqueue(c.jobs).catch(warn('enqueue failed; the module sweep will catch up', { jobs: c.jobs.map((j) => j.job.name) })) : undefined,
  ]);
  for (const work of c.after) await work().catch(warn('after-commit work failed; a sweep will pick it up'));
}

export interface Work {
  /** One transaction: `work` changes state through `uow`; after commit its messages, timers and jobs are enqueued. */
  run<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T>;
  readonly sink: AfterCommitSink;
}

export function createWork(deps: { database: Database; sink: AfterCommitSink; logger: Logger }): Work {
  return {
    sink: deps.sink,
    async run(work) {
      let collected: () => Collected = empty;
      const result = await deps.database.db.transaction(async (tx) => {
        const unit = openUnit(tx);
        collected = unit.collected;
        const out = await work(unit.uow);
        await unit.prepare();
        return out;
      });
      await flushUnit(collected(), deps.sink, deps.logger);
      return result;
    },
  };
}
