import { z } from 'zod';
import { fireDueTimers, TIMER_BATCH } from '../src/timers/fire.js';
import { defineJob, type JobServices } from './define.js';

/** Rounds of batches one wake-up job fires before it lets another job have the worker (all due ones, normally). */
const MAX_ROUNDS_PER_WAKE = 10;
/**
 * Batches fired side by side once the first came back full: timers falling due together are
 * one wake-up (jobs/producer.ts buckets them by due time), so without this a burst of 1,000 would
 * be five batches one after another. Each batch is its own transaction; `skip locked` keeps them
 * on different timers.
 */
export const PARALLEL_TIMER_BATCHES = 4;

const fire = (s: JobServices, kind?: string) => fireDueTimers({ work: s.work, handlers: s.timerHandlers, logger: s.logger }, { kind, limit: TIMER_BATCH });

/**
 * A wake-up: fires every due timer of its kind, a batch at a time (then several at once when the
 * first batch was full), until none is due. Concurrent wake-ups split a burst between them too.
 * Removed on completion, so a timer set later for the same bucket gets a fresh wake-up.
 */
export const timerWakeJob = defineJob({
  name: 'timer-wake',
  payload: z.object({ kind: z.string().min(1).max(100), at: z.number().int().nonnegative() }).strict(),
  id: (p) => `tm-${p.kind.replace(/:/g, '_')}-${p.at}`,
  options: { removeOnComplete: true },
  concurrency: 4,
  handler: (s) => async ({ kind }) => {
    let fired = 0;
    for (let round = 0; round < MAX_ROUNDS_PER_WAKE; round++) {
      const batches = await Promise.all(Array.from({ length: round === 0 ? 1 : PARALLEL_TIMER_BATCHES }, () => fire(s, kind)));
      for (const r of batches) fired += r.fired;
      if (batches.some((r) => r.claimed < TIMER_BATCH)) break;
    }
    return { fired };
  },
});

/**
 * The ONE database sweep behind every timer: fires whatever is due that no wake-up fired (Redis
 * flushed or restarted without persistence, a crash between commit and enqueue).
 */
export const timerSweepJob = defineJob({
  name: 'timer-sweep',
  payload: z.object({}).passthrough(),
  every: (s) => s.sweeps.timers,
  handler: (s) => async () => {
    let fired = 0;
    for (;;) {
      const r = await fire(s);
      fired += r.fired;
      if (r.claimed < TIMER_BATCH) break;
    }
    if (fired) s.logger.info({ fired }, 'timer sweep fired timers no wake-up fired');
    return { fired };
  },
});
