import { queueRegistry, type QueueBackend } from './backend.js';
import { defaultJobOptions, type JobDefinition } from './define.js';
import { ALL_JOBS, JOBS, deliverJobFor, timerWakeJob } from './registry.js';
import { DELIVER_JOB_PRIORITY } from './deliver.js';
import type { DeliveryQueue, QueuedMessage } from '../src/outbox/outbox.js';
import type { TimerSpec } from '../src/timers/timers.js';
import type { AfterCommitSink, JobRef } from '../src/work/unit.js';
import type { Channel } from '../src/dialog/events.js';

/**
 * BullMQ priority per outbox class (DELIVER_JOB_PRIORITY, lower runs first), so a resident's
 * reply never waits behind a broadcast on its queue. A row with `notBefore` is a delayed job (the
 * processor and the sweep check the row again).
 */
export function deliverJobOptions(m: QueuedMessage, now = Date.now()): Record<string, unknown> {
  const delay = m.notBefore ? m.notBefore.getTime() - now : 0;
  return { priority: DELIVER_JOB_PRIORITY[m.priority ?? 'conversation'], ...(delay > 0 && { delay }) };
}

/** Wake-ups of timers due within this window share one job (a batch fires them all). */
export const WAKE_BUCKET_MS = 50;

export type Jobs = ReturnType<typeof createJobs>;

/**
 * The producer side of the job registry: a typed `enqueue(DEF, payload)` that checks the
 * payload against the definition's schema, gives the job its deterministic id and options, and
 * groups adds made while one is in flight (jobs/backend.ts queueRegistry). Also the unit of
 * work's after-commit sink (deliveries, timer wake-ups, jobs) and the DeliveryQueue.
 */
export function createJobs(backend: QueueBackend, definitions: readonly JobDefinition[] = ALL_JOBS) {
  const queues = queueRegistry(backend, defaultJobOptions);
  const byName = new Map<string, JobDefinition>(definitions.map((d) => [d.name, d]));

  function bulkJob<P>(def: JobDefinition<P>, payload: P, extra?: Record<string, unknown>) {
    // A payload that does not match is a bug in the producer: refuse it here, not in a worker.
    const data = def.payload.parse(payload);
    const id = def.id?.(data);
    return { name: def.name, data, opts: { ...def.options, ...def.optionsFor?.(data), ...extra, ...(id !== undefined && { jobId: id }) } };
  }

  async function enqueueMany<P>(def: JobDefinition<P>, payloads: readonly P[], extra?: (p: P) => Record<string, unknown>): Promise<void> {
    if (payloads.length === 0) return;
    await queues.addBulk(def.name, payloads.map((p) => bulkJob(def, p, extra?.(p))));
  }

  const delivery: DeliveryQueue = {
    async enqueue(messages) {
      const byChannel = new Map<Channel, QueuedMessage[]>();
      // A row written already sent (src/outbox/outbox.ts outboxInsertSent) has nothing left to deliver.
      for (const m of messages) if (!m.sent) byChannel.set(m.channel, [...(byChannel.get(m.channel) ?? []), m]);
      await Promise.all(
        [...byChannel].map(([channel, items]) =>
          queues.addBulk(
            deliverJobFor[channel].name,
            items.map((m) => bulkJob(deliverJobFor[channel], { outboxId: m.outboxId, channel }, deliverJobOptions(m))),
          ),
        ),
      );
    },
    async revive(messages) {
      for (const m of messages) {
        const def = deliverJobFor[m.channel];
        const job = await queues.get(def.name).getJob(def.id!({ outboxId: m.outboxId, channel: m.channel }));
        const state = job ? await job.getState() : 'missing';
        // The outbox row is still pending, so whatever ended this job did not deliver it. A job in
        // no state at all ('unknown': its hash outlived its lists, as when Redis loses keys while a
        // worker touches the job) would otherwise hold the deterministic id, and the row, forever.
        if (job && (state === 'failed' || state === 'completed' || state === 'unknown')) await job.remove().catch(() => {});
      }
      await this.enqueue(messages);
    },
  };

  /** One wake-up job per (kind, time bucket): timers due together are woken, and fired, together. */
  async function wake(specs: readonly TimerSpec[]) {
    const now = Date.now();
    const buckets = new Map<string, { kind: string; at: number }>();
    for (const s of specs) {
      const at = Math.ceil(Math.max(s.dueAt.getTime(), now) / WAKE_BUCKET_MS) * WAKE_BUCKET_MS;
      buckets.set(`${s.kind}@${at}`, { kind: s.kind, at });
    }
    await enqueueMany(timerWakeJob, [...buckets.values()], (p) => ({ delay: Math.max(0, p.at - Date.now()) }));
  }

  const sink: AfterCommitSink = {
    deliver: (messages) => delivery.enqueue(messages),
    wake: (timers) => wake(timers),
    async enqueue(jobs) {
      const byJob = new Map<string, { def: JobDefinition; payloads: unknown[] }>();
      for (const { job, payload } of jobs) {
        const def = byName.get(job.name);
        if (!def) throw new Error(`job ${job.name} is not in the registry`);
        const entry = byJob.get(def.name) ?? { def, payloads: [] };
        entry.payloads.push(payload);
        byJob.set(def.name, entry);
      }
      await Promise.all([...byJob.values()].map(({ def, payloads }) => enqueueMany(def, payloads)));
    },
  };

  return {
    /** Adds one job (typed by its definition). */
    enqueue: <P>(def: JobDefinition<P> | JobRef<P>, payload: P, extra?: Record<string, unknown>) => {
      const full = (byName.get(def.name) ?? def) as JobDefinition<P>;
      return queues.addBulk(full.name, [bulkJob(full, payload, extra)]);
    },
    enqueueMany,
    delivery,
    sink,
    /** The producer-side Queue of a definition (tests, job removal). */
    queue: (def: Pick<JobDefinition, 'name'>) => queues.get(def.name),
    /** Removes jobs by payload (e.g. route jobs a batch made unnecessary); best effort. */
    async remove<P>(def: JobDefinition<P>, payloads: readonly P[]) {
      const q = queues.get(def.name);
      await Promise.all(payloads.map((p) => q.remove(def.id!(p)).catch(() => 0)));
    },
    close: () => queues.close(),
  };
}

export { JOBS };
