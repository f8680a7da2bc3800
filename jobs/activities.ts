import { purgeMinorData } from '../src/activities/minors.js';
import { sendReminder } from '../src/activities/reminders.js';
import { expireOffer } from '../src/activities/signups.js';
import { OFFER_TIMER, REMINDER_TIMER, TERM_END_TIMER } from '../src/activities/timers.js';
import type { TimerHandler } from '../src/timers/timers.js';
import type { JobServices } from './define.js';

/**
 * 幸福学堂 timers on the registry (src/activities/timers.ts): offer expiry, reminders and the
 * end of a 四点半课堂 term. All rows in `timers`, so the one timer sweep fires them after a lost
 * wake-up (a Redis flush), and every handler is idempotent.
 */
type Services = Omit<JobServices, 'timerHandlers'>;

export const activityOfferTimer = (s: Services): TimerHandler => ({
  kind: OFFER_TIMER,
  async fire(uow, timer) {
    const r = await expireOffer(uow, timer.subjectId, timer.seq, new Date(), { timeZone: s.config.notices.timeZone });
    return typeof r === 'object' ? { again: r.notYet } : 'done';
  },
});

export const activityReminderTimer = (s: Services): TimerHandler => ({
  kind: REMINDER_TIMER,
  async fire(uow, timer) {
    const [sessionId, key] = timer.subjectId.split(':');
    if (key === '24h' || key === '1h') await sendReminder(uow, sessionId!, key, new Date(), s.config.notices.timeZone);
    return 'done';
  },
});

export const activityTermEndTimer = (): TimerHandler => ({
  kind: TERM_END_TIMER,
  async fire(uow, timer) {
    await purgeMinorData(uow.tx, timer.subjectId, new Date());
    return 'done';
  },
});
