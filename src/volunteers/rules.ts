/** 志愿服务 rules as plain functions: which tasks fit a volunteer, hours, months, visit periods. */

/** A task fits when it asks for no skill or for one the volunteer has (case-insensitive). */
export function fits(taskSkills: readonly string[], volunteerSkills: readonly string[]): boolean {
  if (taskSkills.length === 0) return true;
  const mine = new Set(volunteerSkills.map((s) => s.trim().toLowerCase()));
  return taskSkills.some((s) => mine.has(s.trim().toLowerCase()));
}

/** Hours an organiser may confirm for a task: more than 0, at most the task's length rounded up to the half hour, at most 24. */
export function maxHours(startsAt: Date, endsAt: Date): number {
  const h = (endsAt.getTime() - startsAt.getTime()) / 3600_000;
  return Math.min(24, Math.ceil(h * 2) / 2);
}

/** Skills typed as "陪伴, 理发；维修" → ['陪伴', '理发', '维修']. */
export function parseSkills(text: string): string[] {
  return [...new Set(text.split(/[,，;；、\s]+/).map((s) => s.trim()).filter((s) => s.length > 0 && s.length <= 20))].slice(0, 10);
}

/** The local month a moment falls in, "2026-11" (for the monthly summary). */
export function monthKey(at: Date, timeZone: string): string {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(at).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}`;
}

/** The period a visit falls in: the one ending at `dueAt` and lasting `everyDays`. */
export function visitedInPeriod(visits: readonly Date[], dueAt: Date, everyDays: number): boolean {
  const from = dueAt.getTime() - everyDays * 86_400_000;
  return visits.some((v) => v.getTime() > from && v.getTime() <= dueAt.getTime());
}

/** The next period's end. */
export const nextDue = (dueAt: Date, everyDays: number) => new Date(dueAt.getTime() + everyDays * 86_400_000);
