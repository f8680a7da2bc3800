import type { JobDefinition, JobServices } from './define.js';
import { activityOfferTimer, activityReminderTimer, activityTermEndTimer } from './activities.js';
import { caseDeadlineTimer, caseRouteJob, caseSweepJob } from './cases.js';
import { consultationCloseTimer, consultationLinkJob, consultationOpenTimer, consultationRemindTimer } from './consultations.js';
import { deliverJobFor } from './deliver.js';
import { noticeFanoutJob, noticeReleaseTimer, noticeSweepJob } from './notices.js';
import { outboxSweepJob } from './outbox-sweep.js';
import { timerSweepJob, timerWakeJob } from './timers.js';
import { visitDueTimer } from './volunteers.js';
import type { TimerHandler } from '../src/timers/timers.js';

/**
 * THE job registry: every job linli runs, each one definition (jobs/define.ts). Producers
 * (jobs/producer.ts) and workers (jobs/workers.ts) both read it. A module adds its jobs here and
 * its timer kinds to TIMER_HANDLERS.
 */
export const JOBS = {
  /** outbox row → channel; one queue per channel, each under its platform's call limits. */
  deliverTelegram: deliverJobFor.telegram,
  deliverWechat: deliverJobFor.wechat,
  deliverWeb: deliverJobFor.web,
  /** Periodic: re-enqueue outbox rows left pending (Redis lost, crash between commit and enqueue). */
  outboxSweep: outboxSweepJob,
  /** A new case → the person who owns it (duty list → grid → worker on duty), in batches. */
  caseRoute: caseRouteJob,
  /** Periodic: route cases no job routed (Redis lost). */
  caseSweep: caseSweepJob,
  /** Fires the due timers of one kind in batches (woken by a delayed job per due-time bucket). */
  timerWake: timerWakeJob,
  /** Periodic: the ONE database sweep that fires every due timer no wake-up fired. */
  timerSweep: timerSweepJob,
  /** One wave of a notice → an outbox row per chat, a page at a time (应急 first). */
  noticeFanout: noticeFanoutJob,
  /** Periodic: restart fan-outs that did not finish (scheduled releases are timers). */
  noticeSweep: noticeSweepJob,
  /** Ballots cast → their links on the consultation's hash chain. */
  consultationLink: consultationLinkJob,
} as const satisfies Record<string, JobDefinition>;

export const ALL_JOBS: readonly JobDefinition[] = Object.values(JOBS);

/** Jobs a worker process (LINLI_ROLE worker/all) runs besides delivery. */
export const WORKER_JOBS: readonly JobDefinition[] = [
  JOBS.outboxSweep,
  JOBS.caseRoute,
  JOBS.caseSweep,
  JOBS.timerWake,
  JOBS.timerSweep,
  JOBS.noticeFanout,
  JOBS.noticeSweep,
  JOBS.consultationLink,
];

/** Timer handlers by kind (src/timers/timers.ts); a module registers its kinds here. */
export const TIMER_HANDLERS: readonly ((s: Omit<JobServices, 'timerHandlers'>) => TimerHandler)[] = [
  caseDeadlineTimer,
  noticeReleaseTimer,
  activityOfferTimer,
  activityReminderTimer,
  activityTermEndTimer,
  visitDueTimer,
  consultationOpenTimer,
  consultationCloseTimer,
  consultationRemindTimer,
];

export { deliverJobFor, timerWakeJob };
