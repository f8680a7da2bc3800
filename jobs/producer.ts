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

/**
 * 群发搭车 (jobs/deliver.ts): where a channel's broadcast deliveries take `companions` other chats
 * along, one job per `companions + 1` broadcast rows due at the same time is enough: its batch
 * sends the rows after it, and a batch that finds more waiting queues the next lead
 * (`sendBatch` in jobs/deliver.ts, from its claim's `next`). Every row had a job of its own: at 1,000/s that was a BullMQ fetch, finish
 * and status read per message for a row already sent by another's batch, and on the PostgreSQL
 * backend two durable transactions each. Replies always get their own job. Rows no lead reached
 * (Redis lost) are the outbox sweep's, which queues leads the same way.
 */
export function leadsOf(messages: readonly QueuedMessage[], companions: Partial<Record<Channel, number>> | undefined): QueuedMessage[] {
  if (!companions) return [...messages];
  const seen = new Map<string, number>();
  return messages.filter((m) => {
    const every = (companions[m.channel] ?? 0) + 1;
    if (every <= 1 || (m.priority ?? 'conversation') === 'conversation') return true;
    const group = `${m.channel}|${m.priority}|${m.notBefore?.getTime() ?? 0}`;
    const n = seen.get(group) ?? 0;
    seen.set(group, n + 1);
    return n % every === 0;
  });
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
export function createJobs(backend: QueueBackend, definitions: readonly JobDefinition[] = ALL_JOBS, opts: { companions?: Partial<Record<Channel, number>> } = {}) {
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

  /** One deliver job per message, no thinning (`leadsOf` chose them). */
  async function addDeliveries(messages: readonly QueuedMessage[]) {
    const byChannel = new Map<Channel, QueuedMessage[]>();
    for (const m of messages) byChannel.set(m.channel, [...(byChannel.get(m.channel) ?? []), m]);
    await Promise.all(
      [...byChannel].map(([channel, items]) =>
        queues.addBulk(
          deliverJobFor[channel].name,
          items.map((m) => bulkJob(deliverJobFor[channel], { outboxId: m.outboxId, channel }, deliverJobOptions(m))),
        ),
      ),
    );
  }
  // A row written already sent (src/outbox/outbox.ts outboxInsertSent) has nothing left to deliver.
  const toDeliver = (messages: readonly QueuedMessage[]) => leadsOf(messages.filter((m) => !m.sent), opts.companions);

  const delivery: DeliveryQueue = {
    enqueue: (messages) => addDeliveries(toDeliver(messages)),
    async revive(messages) {
      const leads = toDeliver(messages);
      for (const m of leads) {
        const def = deliverJobFor[m.channel];
        const job = await queues.get(def.name).getJob(def.id!({ outboxId: m.outboxId, channel: m.channel }));
        const state = job ? await job.getState() : 'missing';
        // The outbox row is still pending, so whatever ended this job did not deliver it. A job in
        // no state at all ('unknown': its hash outlived its lists, as when Redis loses keys while a
        // worker touches the job) would otherwise hold the deterministic id, and the row, forever.
        if (job && (state === 'failed' || state === 'completed' || state === 'unknown')) await job.remove().catch(() => {});
      }
      await addDeliveries(leads);
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
