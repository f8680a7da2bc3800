/**
 * Pure rules of the case lifecycle: numbers, deadlines, the escalation ladder, ratings and
 * "same problem nearby?". No database, no clock of their own: callers pass `now`.
 */

export type Priority = 'urgent' | 'normal' | 'low';
export type CaseStatus = 'submitted' | 'assigned' | 'accepted' | 'resolved' | 'closed';
export type Level = 'grid' | 'community' | 'street' | 'county';
export type Rating = 'satisfied' | 'basically_satisfied' | 'unsatisfied';

export const OPEN_STATUSES: readonly CaseStatus[] = ['submitted', 'assigned', 'accepted'];

/** 升级阶梯: grid worker → community (书记/主任) → street office → county. */
export const LEVELS: readonly Level[] = ['grid', 'community', 'street', 'county'];

/** The level above, or undefined at the county (nowhere higher to go: it is reminded instead). */
export function nextLevel(level: Level): Level | undefined {
  return LEVELS[LEVELS.indexOf(level) + 1];
}

export interface Sla {
  acceptMinutes: number;
  resolveMinutes: number;
  /** How long each level above the grid has to act before the case climbs again. */
  escalationMinutes: number;
}

/**
 * Defaults when a community has configured nothing: urgent 30 min to accept / 4 h to resolve,
 * normal 2 h / 3 days, low 8 h / 7 days; each level above gets 30 min (urgent), 4 h, 1 day.
 */
export const DEFAULT_SLA: Record<Priority, Sla> = {
  urgent: { acceptMinutes: 30, resolveMinutes: 4 * 60, escalationMinutes: 30 },
  normal: { acceptMinutes: 2 * 60, resolveMinutes: 3 * 24 * 60, escalationMinutes: 4 * 60 },
  low: { acceptMinutes: 8 * 60, resolveMinutes: 7 * 24 * 60, escalationMinutes: 24 * 60 },
};

export interface SlaPolicyRow extends Sla {
  categoryId: number | null;
  priority: Priority;
}

/** A category's own policy beats the catch-all (categoryId null), which beats the defaults. */
export function slaFor(policies: readonly SlaPolicyRow[], categoryId: number, priority: Priority): Sla {
  const own = policies.find((p) => p.categoryId === categoryId && p.priority === priority);
  const any = policies.find((p) => p.categoryId === null && p.priority === priority);
  const pick = own ?? any;
  return pick ? { acceptMinutes: pick.acceptMinutes, resolveMinutes: pick.resolveMinutes, escalationMinutes: pick.escalationMinutes } : DEFAULT_SLA[priority];
}

export type Stage = 'accept' | 'resolve' | 'escalation';

/** A reopened case (重办, after 不满意) gets this share of the normal time to resolve. */
export const REOPEN_DEADLINE_FACTOR = 0.5;

/**
 * When the stage's deadline falls. `scale` (config CASE_DEADLINE_SCALE) shrinks every deadline
 * for drills and tests (0.001 turns 2 h into 7.2 s); reopened cases get the shorter time.
 */
export function deadline(sla: Sla, stage: Stage, from: Date, opts: { scale?: number; reopened?: boolean } = {}): Date {
  const minutes = stage === 'accept' ? sla.acceptMinutes : stage === 'resolve' ? sla.resolveMinutes : sla.escalationMinutes;
  const factor = (opts.scale ?? 1) * (opts.reopened && stage === 'resolve' ? REOPEN_DEADLINE_FACTOR : 1);
  return new Date(from.getTime() + Math.max(1, Math.round(minutes * 60_000 * factor)));
}

/**
 * When to remind the person who holds the case before its deadline passes: at half the window
 * and again at 80 % (re-notify until acknowledged, as on-call systems do); only future times.
 */
export function reminderTimes(start: Date, due: Date, now: Date): Date[] {
  const span = due.getTime() - start.getTime();
  if (span <= 0) return [];
  return [0.5, 0.8].map((f) => new Date(start.getTime() + Math.round(span * f))).filter((t) => t > now);
}

/** The calendar day in China (UTC+8, no daylight saving) — case numbers follow local days. */
export function chinaDay(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
}

/** `JH-20261122-0007`: county prefix, local day, the day's sequence (at least 4 digits). */
export function formatCaseNumber(prefix: string, day: string, seq: number): string {
  return `${prefix}-${day.replace(/-/g, '')}-${String(seq).padStart(4, '0')}`;
}

export const CASE_NUMBER_PATTERN = /^[A-Z0-9]+-\d{8}-\d{4,}$/;

/** What a resident's rating does: 不满意 sends it back to the same worker (重办); the rest close it. */
export function ratingOutcome(rating: Rating): 'reopen' | 'close' {
  return rating === 'unsatisfied' ? 'reopen' : 'close';
}

/** A case resolved this long ago without a rating is closed as 默认满意. */
export function autoCloseDue(resolvedAt: Date, days: number, now: Date): boolean {
  return now.getTime() - resolvedAt.getTime() >= days * 86_400_000;
}

/** What each actor may do in each status; anything else is refused with a clear answer. */
export type CaseAction = 'assign' | 'accept' | 'transfer' | 'return' | 'resolve' | 'rate' | 'reopen' | 'close' | 'addInfo' | 'escalate' | 'takeOver';

const ALLOWED: Record<CaseAction, readonly CaseStatus[]> = {
  assign: OPEN_STATUSES,
  accept: ['assigned'],
  transfer: ['assigned', 'accepted'],
  return: ['assigned', 'accepted'],
  // A worker who fixes it on the spot may resolve without accepting first: the accept is implied.
  resolve: ['assigned', 'accepted'],
  rate: ['resolved'],
  reopen: ['resolved'],
  // Staff closing without a fix (不属于本社区职责 / 已转办 / 重复); a resolved case closes by rating.
  close: OPEN_STATUSES,
  addInfo: OPEN_STATUSES,
  escalate: OPEN_STATUSES,
  takeOver: OPEN_STATUSES,
};

export function allowed(action: CaseAction, status: CaseStatus): boolean {
  return ALLOWED[action].includes(status);
}

/** Great-circle distance in metres (haversine): fine for "within a few hundred metres". */
export function distanceMeters(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const R = 6_371_000;
  const rad = (d: number) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export interface DuplicateProbe {
  categoryId: number;
  buildingId: number | null;
  point: { lat: number; lng: number } | null;
  at: Date;
}

export interface OpenCaseSummary extends DuplicateProbe {
  status: CaseStatus;
}

export const DUPLICATE_RULES = { maxMeters: 150, maxAgeDays: 7 };

/**
 * "Same problem?": an open case of the same category, reported recently, in the same building
 * or within a short walk. Offered to the reporter, never merged without their word.
 */
export function looksLikeSameProblem(report: DuplicateProbe, open: OpenCaseSummary, rules = DUPLICATE_RULES): boolean {
  if (!OPEN_STATUSES.includes(open.status) || open.categoryId !== report.categoryId) return false;
  if (report.at.getTime() - open.at.getTime() > rules.maxAgeDays * 86_400_000) return false;
  if (report.buildingId !== null && report.buildingId === open.buildingId) return true;
  return report.point !== null && open.point !== null && distanceMeters(report.point, open.point) <= rules.maxMeters;
}
