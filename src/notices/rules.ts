import { noticeCategory } from '../../db/schema/index.js';

/** Pure rules of 通知公告: categories, quiet hours, what a notice's status allows. */

export type NoticeCategory = (typeof noticeCategory.enumValues)[number];
export const NOTICE_CATEGORIES = noticeCategory.enumValues;

/** 居务公开 (信息公开目录: 党务、居务、财务、服务): the categories listed on the public page. */
export const PUBLIC_CATEGORIES: readonly NoticeCategory[] = ['party', 'affairs', 'finance', 'service'];

/** 应急: everyone in scope, at once, whatever their preferences, ahead of all other traffic. */
export const isUrgent = (category: NoticeCategory) => category === 'emergency';

/** The preference topic of a category (src/audience/preferences.ts), e.g. `notice.activity`. */
export const topicOf = (category: NoticeCategory) => `notice.${category}`;

export interface QuietHours {
  /** Seconds after local midnight; start > end means the window wraps midnight (21:00–08:00). */
  startSec: number;
  endSec: number;
}

/** Local wall-clock seconds after midnight and the zone's UTC offset (ms) at `at`. */
export function localClock(at: Date, timeZone: string): { secOfDay: number; offsetMs: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  const secOfDay = +parts.hour! * 3600 + +parts.minute! * 60 + +parts.second!;
  return { secOfDay, offsetMs: wall - Math.floor(at.getTime() / 1000) * 1000 };
}

/** Whether a local second of the day lies inside the quiet window (start inclusive, end exclusive). */
export function inQuietHours(secOfDay: number, q: QuietHours): boolean {
  if (q.startSec === q.endSec) return false;
  return q.startSec < q.endSec ? secOfDay >= q.startSec && secOfDay < q.endSec : secOfDay >= q.startSec || secOfDay < q.endSec;
}

/**
 * When a notice released at `at` may reach people: at once for 应急 and outside quiet hours,
 * else when the quiet window ends (免打扰: a 21:30 notice waits until 08:00 local).
 */
export function deliverFrom(at: Date, category: NoticeCategory, q: QuietHours, timeZone: string): Date {
  if (isUrgent(category)) return at;
  const { secOfDay } = localClock(at, timeZone);
  if (!inQuietHours(secOfDay, q)) return at;
  const wait = (q.endSec - secOfDay + 86_400) % 86_400;
  const end = new Date(Math.floor(at.getTime() / 1000) * 1000 + wait * 1000);
  // A daylight-saving shift inside the window moves the wall clock; correct by the change.
  const shift = localClock(end, timeZone).offsetMs - localClock(at, timeZone).offsetMs;
  return new Date(end.getTime() - shift);
}

export type NoticeStatus = 'draft' | 'scheduled' | 'sending' | 'sent' | 'corrected' | 'withdrawn';

/**
 * What may happen to a notice in each status; anything else is refused with the status. A
 * correction waits until the notice has gone out to everyone (sent), so nobody gets the original
 * after its correction went round.
 */
export const NOTICE_TRANSITIONS: Record<'send' | 'correct' | 'withdraw', readonly NoticeStatus[]> = {
  send: ['draft'],
  correct: ['sent', 'corrected'],
  withdraw: ['scheduled', 'sending', 'sent', 'corrected'],
};

/** Longest title and text we take (a chat message stays readable; Telegram's caption limit is 1024). */
export const LIMITS = { title: 60, body: 900, correction: 600, reason: 200 } as const;

/** 'YYYY-MM-DD HH:MM' on the local wall clock of `timeZone`, for staff to read. */
export function formatLocal(at: Date, timeZone: string): string {
  const { offsetMs } = localClock(at, timeZone);
  return new Date(at.getTime() + offsetMs).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * What staff type as a send time — 'YYYY-MM-DD HH:MM' (or '/', '.' between the date parts, 'T'
 * or several spaces before the time) on the local wall clock — as an instant; undefined when it
 * is no such time.
 */
export function parseLocal(text: string, timeZone: string): Date | undefined {
  const m = /^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[\sT]+(\d{1,2})[:：](\d{2})\s*$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return undefined;
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  if (new Date(wall).getUTCDate() !== d) return undefined;
  // The offset at the wall time read as UTC is right except within hours of a DST change; one
  // more step settles it.
  const first = wall - localClock(new Date(wall), timeZone).offsetMs;
  return new Date(wall - localClock(new Date(first), timeZone).offsetMs);
}
