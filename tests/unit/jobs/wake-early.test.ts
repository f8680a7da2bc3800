import { describe, expect, it } from 'vitest';
import { wakeBeforeWindow } from '../../../jobs/deliver-chat.js';

describe('wakeBeforeWindow', () => {
  it('wakes a job put back by the global limit 80 ms before the window opens, unless the window is nearly open', () => {
    expect(wakeBeforeWindow(900)).toBe(820);
    expect(wakeBeforeWindow(161)).toBe(81);
    // Refused in the last moments (or woken early already): on time, so it is not refused again.
    expect(wakeBeforeWindow(160)).toBe(160);
    expect(wakeBeforeWindow(40)).toBe(40);
    expect(wakeBeforeWindow(1)).toBe(1);
  });
});
