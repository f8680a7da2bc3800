/**
 * Dates as the community reads them. Communities keep China time unless configured otherwise;
 * a server running in UTC (or anywhere else) must not shift deadlines or consent dates by a day.
 */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

const formats = new Map<string, Intl.DateTimeFormat>();

/** The last date formatted: a burst of sign-ups shows one session's start thousands of times (formatToParts is most of a sign-up's text). */
let last: { ms: number; timeZone: string; parts: Record<string, string> } | undefined;

function partsIn(at: Date, timeZone: string): Record<string, string> {
  const ms = at.getTime();
  if (last && last.ms === ms && last.timeZone === timeZone) return last.parts;
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  last = { ms, timeZone, parts };
  return parts;
}

/** "11-22 14:05" in the community's time zone (deadlines, timelines). */
export function localDateTime(at: Date, timeZone = DEFAULT_TIME_ZONE): string {
  const p = partsIn(at, timeZone);
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** "2026-11-22" in the community's time zone (/mydata). */
export function localDate(at: Date, timeZone = DEFAULT_TIME_ZONE): string {
  const p = partsIn(at, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}
