/**
 * 幸福学堂 timer kinds (src/timers): each subject is an id, each handler idempotent, so the
 * timer sweep may fire what a lost wake-up did not (a Redis flush delays, never loses them).
 */

/** An offered seat runs out: subject = sign-up id, seq = its offer number. */
export const OFFER_TIMER = 'activity-offer';
/** A reminder before a session: subject = `<sessionId>:24h` | `<sessionId>:1h`. */
export const REMINDER_TIMER = 'activity-reminder';
/** 四点半课堂 term ended: its children's data is deleted. Subject = activity id. */
export const TERM_END_TIMER = 'activity-term-end';
