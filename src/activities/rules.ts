/**
 * 幸福学堂 rules as plain functions: seats and the waiting list, offers, series expansion,
 * reminders, check-in codes, no-shows and 服务进社区 coverage. No I/O; the commands
 * (src/activities/signups.ts …) apply them under a row lock.
 */

export const ACTIVITY_KINDS = ['lecture', 'after_school', 'culture_sports', 'service', 'other'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export const SERVICE_LINES = ['law', 'health', 'sport', 'culture', 'tourism', 'emergency', 'safety', 'jobs', 'insurance'] as const;
export type ServiceLine = (typeof SERVICE_LINES)[number];

/** 服务进社区: each service line holds at least this many events a year in every community. */
export const SERVICE_AIM_PER_YEAR = 2;

export type SignupStatus = 'confirmed' | 'waiting' | 'offered' | 'cancelled';

/** Whether a sign-up in this status holds a seat (counted in `taken`). */
export const holdsSeat = (status: SignupStatus) => status === 'confirmed' || status === 'offered';

/**
 * Who is offered freed seats: the waiting sign-ups with the earliest arrival, as many as seats
 * are free. Never more than the free seats, never out of arrival order.
 */
export function nextOffers<T extends { arrival: number }>(waiting: readonly T[], free: number): T[] {
  if (free <= 0) return [];
  return [...waiting].sort((a, b) => a.arrival - b.arrival).slice(0, free);
}

/** Offer expiry: `minutes` after the offer, but never after the session starts (the seat is then of no use). */
export function offerExpiry(now: Date, minutes: number, startsAt: Date): Date {
  const at = now.getTime() + minutes * 60_000;
  return new Date(Math.min(at, Math.max(startsAt.getTime(), now.getTime())));
}

export const REMINDERS = [
  { key: '24h', beforeMs: 24 * 3600_000 },
  { key: '1h', beforeMs: 3600_000 },
] as const;
export type ReminderKey = (typeof REMINDERS)[number]['key'];

/** The reminders still ahead for a session (one created 3 h before gets only the 1 h one). */
export function remindersAhead(startsAt: Date, now: Date): { key: ReminderKey; at: Date }[] {
  return REMINDERS.map((r) => ({ key: r.key, at: new Date(startsAt.getTime() - r.beforeMs) })).filter((r) => r.at.getTime() > now.getTime());
}

export type SignupWindowProblem = 'signup_opens_after_start' | 'signup_closes_before_opens' | 'signup_closes_after_start';

/**
 * 报名时间: a window staff set opens before the (last) session starts, closes after it opens and
 * after now, and closes no later than the last session starts (each session's own sign-up ends
 * at its start anyway, so a later close would promise what is not kept). Undefined = fine.
 */
export function signupWindowProblem(w: { opensAt: Date; closesAt: Date }, lastStart: Date, now: Date): SignupWindowProblem | undefined {
  if (w.opensAt.getTime() >= lastStart.getTime()) return 'signup_opens_after_start';
  if (w.closesAt.getTime() <= w.opensAt.getTime() || w.closesAt.getTime() <= now.getTime()) return 'signup_closes_before_opens';
  if (w.closesAt.getTime() > lastStart.getTime()) return 'signup_closes_after_start';
  return undefined;
}

export interface SeriesRule {
  /** First day (YYYY-MM-DD, local) from which sessions are counted. */
  from: string;
  /** Last day (YYYY-MM-DD, local) inclusive: the end of term. */
  until: string;
  /** 0 = Sunday … 6 = Saturday (三 = 3). */
  weekday: number;
  /** "16:30", local. */
  time: string;
  durationMinutes: number;
  capacity: number;
  timeZone: string;
}

/** Most sessions one series may have (a school year of weekly sessions). */
export const MAX_SESSIONS = 60;

/**
 * Expands a repeating series (every Wednesday 16:30 for a term) into its sessions, in local time
 * of the community's zone, each with its own seats.
 */
export function expandSeries(rule: SeriesRule): { startsAt: Date; endsAt: Date; capacity: number }[] {
  const [h, m] = rule.time.split(':').map(Number) as [number, number];
  const day = parseDay(rule.from);
  const last = parseDay(rule.until);
  const shift = (rule.weekday - new Date(day).getUTCDay() + 7) % 7;
  const out: { startsAt: Date; endsAt: Date; capacity: number }[] = [];
  for (let d = day + shift * 86_400_000; d <= last && out.length < MAX_SESSIONS; d += 7 * 86_400_000) {
    const date = new Date(d);
    const startsAt = zonedTime(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), h, m, rule.timeZone);
    out.push({ startsAt, endsAt: new Date(startsAt.getTime() + rule.durationMinutes * 60_000), capacity: rule.capacity });
  }
  return out;
}

function parseDay(s: string): number {
  const [y, mo, d] = s.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, mo - 1, d);
}

/** The instant that reads y-m-d h:m on a clock in `timeZone`. */
export function zonedTime(y: number, month0: number, d: number, h: number, m: number, timeZone: string): Date {
  const guess = Date.UTC(y, month0, d, h, m);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(guess))
      .map((p) => [p.type, p.value]),
  );
  const shown = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
  return new Date(guess - (shown - guess));
}

/** Check-in codes: no 0/O, 1/I/L, so a code read off a screen is typed right. */
const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const CHECKIN_CODE_LENGTH = 4;

/** A short check-in code (签到码) from random bytes (one byte per character). */
export function checkinCodeFrom(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < CHECKIN_CODE_LENGTH; i++) s += CODE_ALPHABET[bytes[i]! % CODE_ALPHABET.length];
  return s;
}

/**
 * One code per session of an activity, no two alike, so a code shown at one session of a series
 * never checks anyone in to another. `draw` gives random bytes (crypto in use, fixed in tests).
 */
export function distinctCheckinCodes(n: number, draw: () => Uint8Array): string[] {
  const codes = new Set<string>();
  while (codes.size < n) codes.add(checkinCodeFrom(draw()));
  return [...codes];
}

/** What a resident typed as a code, compared leniently (case, spaces, full-width digits). */
export function normaliseCode(input: string): string {
  return input
    .replace(/[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\s+/g, '')
    .toUpperCase();
}

/** Check-in is accepted from 1 h before the start until the end. */
export function checkinOpen(session: { startsAt: Date; endsAt: Date }, now: Date): boolean {
  return now.getTime() >= session.startsAt.getTime() - 3600_000 && now.getTime() <= session.endsAt.getTime();
}

/**
 * A rating is for those who came: from their check-in on (the question comes with the check-in
 * reply, so nobody has to find their way back to it), once per sign-up (a new one replaces it).
 */
export function mayRate(s: { status: SignupStatus; checkedInAt: Date | null }): boolean {
  return s.status === 'confirmed' && s.checkedInAt !== null;
}

/** No-shows: confirmed for a session that has ended, never checked in; counted per participant (an erased one is nobody's). */
export function countNoShows(rows: readonly { participantId: string | null; status: SignupStatus; checkedInAt: Date | null; endsAt: Date }[], now: Date): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    if (r.participantId !== null && r.status === 'confirmed' && r.checkedInAt === null && r.endsAt.getTime() < now.getTime()) out.set(r.participantId, (out.get(r.participantId) ?? 0) + 1);
  }
  return out;
}

/** Organisers are shown people with at least this many no-shows. */
export const REPEATED_NO_SHOWS = 2;

export interface CoverageCell {
  communityId: number;
  line: ServiceLine;
  held: number;
  aim: number;
  met: boolean;
}

/** 服务进社区 coverage: events held this year per community and service line, against the aim. */
export function coverage(communities: readonly number[], held: readonly { communityId: number; line: ServiceLine; count: number }[], aim = SERVICE_AIM_PER_YEAR): CoverageCell[] {
  const key = (c: number, l: string) => `${c}:${l}`;
  const counts = new Map(held.map((h) => [key(h.communityId, h.line), h.count]));
  return communities.flatMap((communityId) =>
    SERVICE_LINES.map((line) => {
      const n = counts.get(key(communityId, line)) ?? 0;
      return { communityId, line, held: n, aim, met: n >= aim };
    }),
  );
}
