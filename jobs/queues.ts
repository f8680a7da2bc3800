import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import { channelSchema } from '../src/dialog/events.js';

/**
 * One place for queue names, job payload schemas and job options. Producers and workers both
 * import from here, so a payload can't drift between them. Payloads carry ids, never personal
 * data (no names, phones or message text).
 */
export const QUEUES = {
  /** outbox row → channel. One queue per channel so each has its own rate limit. */
  deliverTelegram: 'deliver-telegram',
  deliverWechat: 'deliver-wechat',
  deliverWeb: 'deliver-web',
  /** Periodic: re-enqueue outbox rows left pending (Redis lost, crash between commit and enqueue). */
  outboxSweep: 'outbox-sweep',
  /** A new case → the person who owns it (duty list → grid → worker on duty). */
  caseRoute: 'case-route',
  /**
   * A case deadline: first remind whoever holds the case (at 50 % and 80 % of the window), then,
   * when it passes, escalate one level or close an unrated resolved case as 默认满意.
   */
  caseDeadline: 'case-deadline',
  /** Periodic: route cases no job routed, and act on deadlines no timer handled (Redis lost). */
  caseSweep: 'case-sweep',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const deliverQueueFor = {
  telegram: QUEUES.deliverTelegram,
  wechat: QUEUES.deliverWechat,
  web: QUEUES.deliverWeb,
} as const;

export const jobSchemas = {
  deliver: z.object({ outboxId: z.number().int().positive(), channel: channelSchema }),
  outboxSweep: z.object({}).strict(),
  caseRoute: z.object({ caseId: z.uuid() }).strict(),
  /**
   * `dueAt` and `remindAt`: epoch milliseconds of the deadline and of the reminders before it, in
   * order (a timer without them only acts on the deadline).
   */
  caseDeadline: z
    .object({
      caseId: z.uuid(),
      seq: z.number().int().positive(),
      dueAt: z.number().int().positive().optional(),
      remindAt: z.array(z.number().int().positive()).max(10).optional(),
    })
    .strict(),
  caseSweep: z.object({}).passthrough(),
} as const;

export type DeliverJob = z.infer<typeof jobSchemas.deliver>;

/** Deterministic job ids make a second enqueue of the same thing a no-op (BullMQ forbids ':' in ids). */
export const jobIds = {
  deliver: (outboxId: number) => `out-${outboxId}`,
  caseRoute: (caseId: string) => `route-${caseId}`,
  /** One timer per deadline: `seq` numbers every deadline a case gets (see README, design). */
  caseDeadline: (caseId: string, seq: number) => `esc-${caseId}-${seq}`,
};

export const defaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential' as const, delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * A job's payload checked against its schema. One that does not parse never will: it fails once
 * (UnrecoverableError), is not retried, and changes nothing.
 */
export function parseJob<T>(schema: z.ZodType<T>, job: Job, what: string = job.queueName): T {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid ${what} payload`);
  return parsed.data;
}
