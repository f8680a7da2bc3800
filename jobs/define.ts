import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import type { Database } from '../db/client.js';
import type { ChannelAdapter } from '../bots/channel.js';
import type { CaseSettings } from '../src/cases/effects.js';
import type { Config } from '../src/config.js';
import type { Channel } from '../src/dialog/events.js';
import type { Logger } from '../src/log.js';
import type { DeliveryQueue } from '../src/outbox/outbox.js';
import type { CallLimits } from '../src/limits/calls.js';
import type { TimerHandler } from '../src/timers/timers.js';
import type { JobRef, Work } from '../src/work/unit.js';

/**
 * A job is ONE definition (like Documenso's job definitions): its name (= its queue), the zod
 * schema of its payload, the rule that turns a payload into its deterministic job id (so a second
 * enqueue of the same thing is a no-op), its options, how a worker runs it, and its handler.
 * Producers (`jobs.enqueue(DEF, payload)`, jobs/producer.ts) and workers (jobs/workers.ts) both
 * read the same object, so a payload cannot drift between them. All definitions are listed in
 * jobs/registry.ts. Payloads carry ids, never personal data.
 */
export interface JobDefinition<P = any> extends JobRef<P> {
  readonly name: string;
  readonly payload: z.ZodType<P>;
  /** Deterministic job id (BullMQ forbids ':' in ids). Without one every enqueue is a new job. */
  readonly id?: (payload: P) => string;
  /** Per-job options (priority, delay) on top of the defaults and `options`. */
  readonly optionsFor?: (payload: P) => Record<string, unknown>;
  readonly options?: Record<string, unknown>;
  /** How a worker runs it; absent = a periodic sweep (`every`) or a job only some processes run. */
  readonly concurrency?: number;
  /** Extra BullMQ Worker options (e.g. a limiter), from the process's services. */
  readonly workerOptions?: (s: JobServices) => Record<string, unknown>;
  /**
   * A periodic sweep: run every this many ms on a timer inside each worker process, NOT as a
   * BullMQ repeatable job: sweeps are the safety net for losing Redis, so their schedule must not
   * live in Redis. Sweeps are idempotent and never overlap themselves.
   */
  readonly every?: (s: JobServices) => number;
  /** Built once per worker process; then called per job with its parsed payload. */
  readonly handler: (s: JobServices) => (payload: P, job: JobHandle) => Promise<unknown>;
}

export function defineJob<P>(def: JobDefinition<P>): JobDefinition<P> {
  return def;
}

/** Everything a handler may need; one bag shared by every job of a worker process. */
export interface JobServices {
  database: Database;
  logger: Logger;
  config: Config;
  /** The unit of work (src/work/unit.ts): state + outbox + timers in one transaction, enqueue after. */
  work: Work;
  delivery: DeliveryQueue;
  /** Channels this process delivers to. */
  adapters: Map<Channel, ChannelAdapter>;
  caseSettings: CaseSettings;
  /** Timer handlers by kind (jobs/registry.ts TIMER_HANDLERS). */
  timerHandlers: ReadonlyMap<string, TimerHandler>;
  /** Per-platform-call rate limits shared by all processes (src/limits/calls.ts). */
  callLimits: CallLimits;
  onDeliverResult?: (channel: Channel, result: 'sent' | 'blocked' | 'failed' | 'retry_after') => void;
  /** True while this process's own conversation traffic is busy: broadcast deliveries step aside for a moment (jobs/deliver.ts). */
  conversationBusy?: () => boolean;
  /** Sweep intervals (ms). */
  sweeps: { outbox: number; cases: number; timers: number };
  /** Removes jobs by payload (e.g. route jobs a batch made unnecessary); best effort. */
  removeJobs?: (def: JobDefinition<any>, payloads: readonly unknown[]) => Promise<void>;
  /** Puts the job's queue on hold for `ms` (a platform-wide limit was reached); from the worker. */
  rateLimitQueue?: (queue: string, ms: number) => Promise<void>;
}

/** The running job as a handler sees it: BullMQ's job plus the moves a handler may make. */
export interface JobHandle {
  readonly job: Job;
  readonly token?: string;
  /** Sleeps the same job until `at` (epoch ms) without spending an attempt. Never returns. */
  delayUntil(at: number): Promise<never>;
}

export function jobHandle(job: Job, token?: string): JobHandle {
  return {
    job,
    token,
    async delayUntil(at) {
      await job.moveToDelayed(at, token);
      throw new DelayedError();
    },
  };
}

/**
 * A job's payload checked against its schema. One that does not parse never will: it fails once
 * (UnrecoverableError), is not retried, and changes nothing.
 */
export function parsePayload<P>(def: Pick<JobDefinition<P>, 'name' | 'payload'>, data: unknown, what = def.name): P {
  const parsed = def.payload.safeParse(data);
  if (!parsed.success) throw new UnrecoverableError(`invalid ${what} payload`);
  return parsed.data;
}

export const defaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential' as const, delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
