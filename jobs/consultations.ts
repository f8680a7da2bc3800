import type { TimerHandler } from '../src/timers/timers.js';
import { closeConsultation, CONSULTATION_CLOSE_TIMER, CONSULTATION_REMIND_TIMER, remindNonVoters } from '../src/consultations/lifecycle.js';
import type { JobServices } from './define.js';

/**
 * 社区协商 timers: closing (kind `consultation-close`, armed when a vote opens, at its closing
 * time) and the "not voted yet" reminder (`consultation-remind`). Both are rows in `timers`, so
 * the one timer sweep closes a vote whose wake-up Redis lost; both are idempotent.
 */

type Services = Omit<JobServices, 'timerHandlers'>;

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
