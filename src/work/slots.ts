/**
 * At most `size` tasks at once, the rest waiting in arrival order (oldest first): inbound
 * admission (src/dialog/admission.ts) and the deliver processor's batches (jobs/deliver.ts) both
 * bound how much holds the database pool this way; `full` says when a caller that would rather
 * refuse than queue (admission) should.
 */
export function createSlots(size: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  async function enter(): Promise<void> {
    // The slot is handed over by the task that finishes, so `running` stays counted.
    if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
  }
  function leave() {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
  async function run<T>(task: () => Promise<T>): Promise<T> {
    await enter();
    try {
      return await task();
    } finally {
      leave();
    }
  }
  return {
    run,
    /** Full: running them all and `maxWaiting` already in line. */
    full: (maxWaiting: number) => running >= size && waiting.length >= maxWaiting,
    load: () => ({ running, waiting: waiting.length }),
  };
}
