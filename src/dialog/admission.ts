import { createSlots } from '../work/slots.js';

/** What `Admission.run` returns instead of running the task when too much is already waiting. */
export const OVERLOADED = Symbol('overloaded');

/**
 * 过载保护 (admission control) for inbound messages: at most `concurrency` are handled at once,
 * the rest wait in arrival order (oldest first), and once `maxWaiting` are waiting a new one is
 * refused at once (the web API answers 503 with Retry-After, the page retries with the same
 * message id). A refused message was never accepted, so nothing is lost; an accepted one is
 * answered only after its transaction committed. Without this, a burst beyond capacity queues
 * without bound on the database pool and every reply slows down together.
 */
export function createAdmission(opts: { concurrency: number; maxWaiting: number }) {
  const slots = createSlots(opts.concurrency);
  return {
    /** `mustRun`: wait in line however long it is (for what has nobody to retry it, e.g. a greeting). */
    async run<T>(task: () => Promise<T>, mustRun = false): Promise<T | typeof OVERLOADED> {
      if (!mustRun && slots.full(opts.maxWaiting)) return OVERLOADED;
      return slots.run(task);
    },
    /** Messages being handled and waiting now (for /metrics and the benchmark). */
    load: slots.load,
  };
}

export type Admission = ReturnType<typeof createAdmission>;
