import { closeVisitPeriod, VISIT_DUE_TIMER } from '../src/volunteers/visits.js';
import type { TimerHandler } from '../src/timers/timers.js';
import type { JobServices } from './define.js';

/** 独居老人巡访: the end of a visit period (a timer row, so a lost wake-up only delays it to the sweep). */
export const visitDueTimer = (s: Omit<JobServices, 'timerHandlers'>): TimerHandler => ({
  kind: VISIT_DUE_TIMER,
  async fire(uow, timer) {
    await closeVisitPeriod(uow, timer.subjectId, timer.seq, new Date(), s.config.notices.timeZone);
    return 'done';
  },
});
