import { describe, expect, it } from 'vitest';
import { createAdmission, OVERLOADED } from '../../../src/dialog/admission.js';

/** A task that runs until released, recording when it started. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { task: async () => (log.push(name), await done, name), release };
}

describe('admission of inbound messages', () => {
  it('runs up to its concurrency at once, then the waiting ones oldest first, and refuses beyond the queue', async () => {
    const admission = createAdmission({ concurrency: 2, maxWaiting: 2 });
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => gate(log, n));
    const runs = [a, b, c, d].map((g) => admission.run(g!.task));
    await Promise.resolve();
    expect(log).toEqual(['a', 'b']);
    expect(admission.load()).toEqual({ running: 2, waiting: 2 });
    // A fifth while two run and two wait: refused at once, never run.
    expect(await admission.run(async () => 'e')).toBe(OVERLOADED);
    b!.release();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a', 'b', 'c']);
    a!.release();
    c!.release();
    d!.release();
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c', 'd']);
    expect(admission.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('queues a task that must run even when the queue is full', async () => {
    const admission = createAdmission({ concurrency: 1, maxWaiting: 0 });
    const log: string[] = [];
    const a = gate(log, 'a');
    const first = admission.run(a.task);
    expect(await admission.run(async () => 'refused')).toBe(OVERLOADED);
    const greeting = admission.run(async () => 'greeting', true);
    a.release();
    expect([await first, await greeting]).toEqual(['a', 'greeting']);
  });

  it('frees its slot when a task fails', async () => {
    const admission = createAdmission({ concurrency: 1, maxWaiting: 0 });
    await expect(admission.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await admission.run(async () => 'next')).toBe('next');
  });
});
