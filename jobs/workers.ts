import type { Job } from 'bullmq';
import type { Database } from '../db/client.js';
import type { ChannelAdapter } from '../bots/channel.js';
import type { CaseSettings } from '../src/cases/effects.js';
import type { Config } from '../src/config.js';
import type { Channel } from '../src/dialog/events.js';
import type { Logger } from '../src/log.js';
import type { CallLimits } from '../src/limits/calls.js';
import { createCallLimits } from '../src/limits/call-limits.js';
import { createLimitStore } from '../src/limits/store.js';
import { channelRates, deliveryCompanions } from './deliver.js';
import { createWork, type Work } from '../src/work/unit.js';
import type { QueueBackend } from './backend.js';
import { jobHandle, parsePayload, type JobDefinition, type JobServices } from './define.js';
import { createJobs, type Jobs } from './producer.js';
import { ALL_JOBS, deliverJobFor, JOBS, TIMER_HANDLERS, WORKER_JOBS } from './registry.js';

export interface WorkerDeps {
  backend: QueueBackend;
  database: Database;
  /** Channels this process delivers to: their deliver jobs run here. */
  adapters: Map<Channel, ChannelAdapter>;
  config: Config;
  logger: Logger;
  /** Definitions to run besides delivery (default: none; the app passes WORKER_JOBS in the worker role). */
  jobs?: readonly JobDefinition[];
  /** The producer (default: one of its own on `backend`). */
  producer?: Jobs;
  caseSettings?: CaseSettings;
  /**
   * Per-call platform limits (the app passes the ones its processes share). Without, the worker
   * makes its own on the limit store, so delivery is limited the same one way everywhere.
   */
  callLimits?: CallLimits;
  onDeliverResult?: JobServices['onDeliverResult'];
  conversationBusy?: JobServices['conversationBusy'];
  /** Sweep intervals (ms): the periodic safety nets behind losing Redis. */
  sweepEveryMs?: number;
  caseSweepEveryMs?: number;
  timerSweepEveryMs?: number;
}

export { WORKER_JOBS };

/**
 * Starts a BullMQ worker for each job definition this process runs (delivery for its channels,
 * plus `jobs`); returns a closer. Every handler gets the same services (JobServices) and its
 * payload parsed against the definition's schema (a bad payload fails once, unrecoverably).
 *
 * Periodic sweeps (`every`) run on a timer in this process, not as BullMQ repeatable jobs: they
 * are the safety net for losing Redis, so their schedule must not live in Redis (a FLUSHDB would
 * delete it along with the timers they are there to replace). Each process sweeps; the sweeps are
 * idempotent, and a sweep never overlaps itself.
 */
export async function startWorkers(deps: WorkerDeps): Promise<{ close(): Promise<void>; services: JobServices }> {
  const { backend, logger } = deps;
  const ownLimitStore = deps.callLimits ? undefined : createLimitStore({ database: deps.database, redisUrl: deps.config.queue.redisUrl, prefix: deps.config.queue.prefix, logger });
  const callLimits = deps.callLimits ?? createCallLimits({ rates: channelRates(deps.config), store: ownLimitStore!, logger });
  const producer = deps.producer ?? createJobs(backend, ALL_JOBS, { companions: deliveryCompanions(deps.config) });
  const ownProducer = !deps.producer;
  const work: Work = createWork({ database: deps.database, sink: producer.sink, logger });
  const base: Omit<JobServices, 'timerHandlers'> = {
    database: deps.database,
    logger,
    config: deps.config,
    work,
    delivery: producer.delivery,
    adapters: deps.adapters,
    caseSettings: deps.caseSettings ?? { deadlineScale: deps.config.cases.deadlineScale, autoCloseDays: deps.config.cases.autoCloseDays },
    callLimits,
    onDeliverResult: deps.onDeliverResult,
    conversationBusy: deps.conversationBusy,
    sweeps: {
      outbox: deps.sweepEveryMs ?? 15_000,
      cases: deps.caseSweepEveryMs ?? deps.config.cases.sweepEveryMs,
      timers: deps.timerSweepEveryMs ?? deps.config.timers.sweepEveryMs,
    },
    removeJobs: (def, payloads) => producer.remove(def, payloads),
  };
  const services: JobServices = { ...base, timerHandlers: new Map(TIMER_HANDLERS.map((make) => make(base)).map((h) => [h.kind, h])) };

  // A process that delivers also sweeps the outbox (the safety net of its deliveries).
  const delivering = [...deps.adapters.keys()].map((c) => deliverJobFor[c]);
  const defs = [...new Set([...delivering, ...(delivering.length ? [JOBS.outboxSweep] : []), ...(deps.jobs ?? [])])];
  const workers: InstanceType<QueueBackend['classes']['Worker']>[] = [];
  const sweeps: { timer?: NodeJS.Timeout; running?: Promise<unknown> }[] = [];
  for (const def of defs) {
    const handler = def.handler(services);
    if (def.every) {
      const sweep: { timer?: NodeJS.Timeout; running?: Promise<unknown> } = {};
      const tick = () => {
        if (sweep.running) return;
        const job = { id: `${def.name}-tick`, name: def.name, queueName: def.name, data: {}, attemptsMade: 0, opts: {} } as unknown as Job;
        sweep.running = handler({} as never, jobHandle(job))
          .catch((err) => logger.warn({ queue: def.name, err: (err as Error).message }, 'sweep failed; next tick retries'))
          .finally(() => {
            sweep.running = undefined;
          });
      };
      sweep.timer = setInterval(tick, def.every(services));
      sweeps.push(sweep);
      continue;
    }
    const worker = new backend.classes.Worker(def.name, async (job: Job, token?: string) => handler(parsePayload(def, job.data), jobHandle(job, token)), {
      ...backend.connectionOptions(),
      concurrency: def.concurrency ?? 1,
      ...def.workerOptions?.(services),
    } as any);
    worker.on('failed', (job, err) => logger.warn({ queue: def.name, jobId: job?.id, err: err.message }, 'job failed'));
    worker.on('error', (err) => logger.error({ queue: def.name, err: err.message }, 'worker error'));
    workers.push(worker);
  }
  return {
    services,
    async close() {
      for (const s of sweeps) clearInterval(s.timer);
      await Promise.all(sweeps.map((s) => s.running));
      await Promise.all(workers.map((w) => w.close()));
      if (ownProducer) await producer.close();
      await ownLimitStore?.close();
    },
  };
}
