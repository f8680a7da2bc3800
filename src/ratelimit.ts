/** Rate-limit arithmetic (pure). */

/** How long to wait before the next message to one chat, given when the last one went out. */
export function perChatWaitMs(lastSentAtMs: number | undefined, nowMs: number, perSec: number): number {
  if (lastSentAtMs === undefined || perSec <= 0) return 0;
  const gap = 1000 / perSec;
  return Math.max(0, Math.ceil(lastSentAtMs + gap - nowMs));
}

/** BullMQ limiter options for a global messages-per-second limit. */
export function limiterFor(perSec: number): { max: number; duration: number } {
  // Below one per second, one message per longer window (a 1000 ms window would allow 1/s).
  if (perSec > 0 && perSec < 1) return { max: 1, duration: Math.ceil(1000 / perSec) };
  return { max: Math.max(1, Math.floor(perSec)), duration: 1000 };
}
