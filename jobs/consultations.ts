import type { TimerHandler } from '../src/timers/timers.js';
import { CONSULTATION_LINK_JOB, linkBallots } from '../src/consultations/chain.js';
import { closeConsultation, CONSULTATION_CLOSE_TIMER, CONSULTATION_OPEN_TIMER, CONSULTATION_REMIND_TIMER, lifecycleDeps, openScheduled, openTimerData, remindNonVoters } from '../src/consultations/lifecycle.js';
import { defineJob, type JobServices } from './define.js';

/**
 * 社区协商 timers: opening at a set time (kind `consultation-open`, armed when staff schedule it),
 * closing (`consultation-close`, armed when a vote opens, at its closing time) and the "not voted
 * yet" reminder (`consultation-remind`). All are rows in `timers`, so the one timer sweep opens or
 * closes a vote whose wake-up Redis lost; all are idempotent.
 */

type Services = Omit<JobServices, 'timerHandlers'>;

export const consultationOpenTimer = (s: Services): TimerHandler => ({
  kind: CONSULTATION_OPEN_TIMER,
  async fire(uow, timer) {
    await openScheduled(uow, timer.subjectId, openTimerData.parse(timer.data).by, new Date(), lifecycleDeps(s.config));
    return 'done';
  },
});

export const consultationCloseTimer = (_s: Services): TimerHandler => ({
  kind: CONSULTATION_CLOSE_TIMER,
  async fire(uow, timer) {
    const out = await closeConsultation(uow, timer.subjectId, new Date());
    return !out.closed && out.again ? { again: out.again } : 'done';
  },
});

export const consultationRemindTimer = (s: Services): TimerHandler => ({
  kind: CONSULTATION_REMIND_TIMER,
  async fire(uow, timer) {
    await remindNonVoters(uow, timer.subjectId, new Date(), s.config.notices.timeZone);
    return 'done';
  },
});

/** Links the ballots cast since the last link into the chain (one job per consultation and second; closing links the rest). */
export const consultationLinkJob = defineJob({
  ...CONSULTATION_LINK_JOB,
  id: (p) => `cl-${p.consultationId}-${p.at}`,
  options: { removeOnComplete: true },
  concurrency: 2,
  handler: (s) => async ({ consultationId }) => ({ linked: await s.database.db.transaction((tx) => linkBallots(tx, consultationId, { wait: false })) }),
});
