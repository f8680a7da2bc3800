import type { Job } from 'bullmq';
import type { Database } from '../db/client.js';
import type { ChannelAdapter } from '../bots/channel.js';
import type { Config } from '../src/config.js';
import type { Channel } from '../src/dialog/events.js';
import type { Logger } from '../src/log.js';
import type { DeliveryQueue } from '../src/outbox/outbox.js';
import { limiterFor } from '../src/ratelimit.js';
import type { QueueBackend } from './backend.js';
import { createDeliverProcessor, type DeliverDeps } from './deliver.js';
import { sweepOutbox } from './outbox-sweep.js';
import { QUEUES, deliverQueueFor } from './queues.js';

/** One processor a worker process runs; modules (cases, routing, escalation) add theirs here. */
export interface ProcessorRegistration {
  queue: string;
  concurrency: number;
  process: (job: Job, token?: string) => Promise<unknown>;
  limiter?: { max: number; duration: number };
  /** A periodic sweep: run every this many ms on a timer in the worker process (not in Redis). */
  every?: number;
}

export interface WorkerDeps {
  backend: QueueBackend;
  database: Database;
  adapters: Map<Channel, ChannelAdapter>;
  delivery: DeliveryQueue;
  config: Config;
  logger: Logger;
  onDeliverResult?: DeliverDeps['onResult'];
  extra?: ProcessorRegistration[];
  /** Outbox sweep interval; the periodic safety net behind losing Redis. */
  sweepEveryMs?: number;
}

export function deliveryProcessors(deps: WorkerDeps): ProcessorRegistration[] {
  const { config } = deps;
  const rates: Record<Channel, { globalPerSec: number; perChatPerSec?: number }> = {
    telegram: config.telegram?.rate ?? { globalPerSec: 30, perChatPerSec: 1 },
    wechat: config.wechat?.rate ?? { globalPerSec: 5, perChatPerSec: 1 },
    web: { globalPerSec: config.web.rate.globalPerSec },
  };
  const process = createDeliverProcessor({
    database: deps.database,
    adapters: deps.adapters,
    perChatPerSec: { telegram: rates.telegram.perChatPerSec, wechat: rates.wechat.perChatPerSec },
    logger: deps.logger,
    onResult: deps.onDeliverResult,
  });
  const regs: ProcessorRegistration[] = [...deps.adapters.keys()].map((channel) => ({
    queue: deliverQueueFor[channel],
    concurrency: 8,
    limiter: limiterFor(rates[channel].globalPerSec),
    process,
  }));
  regs.push({
    queue: QUEUES.outboxSweep,
    concurrency: 1,
    every: deps.sweepEveryMs ?? 15_000,
    process: async () => ({ requeued: await sweepOutbox(deps.database, deps.delivery) }),
  });
  return regs;
}

/**
 * Starts BullMQ workers for delivery plus any extra processors; returns a closer.
 *
 * Periodic sweeps (`every`) run on a timer in this process, not as BullMQ repeatable jobs: they
 * are the safety net for losing Redis, so their schedule must not live in Redis (a FLUSHDB would
 * delete it along with the timers they are there to replace). Each process sweeps; the sweeps are
 * idempotent, and a sweep never overlaps itself.
 */
export async function startWorkers(deps: WorkerDeps): Promise<{ close(): Promise<void> }> {
  const { backend, logger } = deps;
  const regs = [...deliveryProcessors(deps), ...(deps.extra ?? [])];
  const workers: { close(): Promise<void> }[] = [];
  const sweeps: { timer: NodeJS.Timeout; running?: Promise<unknown> }[] = [];
  for (const reg of regs) {
    if (reg.every) {
      const sweep: { timer?: NodeJS.Timeout; running?: Promise<unknown> } = {};
      const tick = () => {
        if (sweep.running) return;
        const job = { id: `${reg.queue}-tick`, name: reg.queue, queueName: reg.queue, data: {}, attemptsMade: 0, opts: {} } as unknown as Job;
        sweep.running = reg
          .process(job)
          .catch((err) => logger.warn({ queue: reg.queue, err: (err as Error).message }, 'sweep failed; next tick retries'))
          .finally(() => {
            sweep.running = undefined;
          });
      };
      sweep.timer = setInterval(tick, reg.every);
      sweeps.push(sweep as { timer: NodeJS.Timeout; running?: Promise<unknown> });
      continue;
    }
    const worker = new backend.classes.Worker(reg.queue, reg.process as any, {
      ...backend.connectionOptions(),
      concurrency: reg.concurrency,
      limiter: reg.limiter,
    } as any);
    worker.on('failed', (job, err) => logger.warn({ queue: reg.queue, jobId: job?.id, err: err.message }, 'job failed'));
    worker.on('error', (err) => logger.error({ queue: reg.queue, err: err.message }, 'worker error'));
    workers.push(worker);
  }
  return {
    async close() {
      for (const s of sweeps) clearInterval(s.timer);
      await Promise.all(sweeps.map((s) => s.running));
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
