import type { Messages } from '../i18n/index.js';
import type { caseEvents } from '../../db/schema/index.js';
import { formatDue } from './card.js';
import type { CaseStatus, Level, Rating } from './rules.js';

/** A public timeline row as residents see it. */
export interface TimelineEvent {
  kind: (typeof caseEvents.$inferSelect)['kind'];
  at: Date;
  reason: string | null;
  level: Level | null;
  details: Record<string, unknown>;
}

const RATING_VALUES: readonly Rating[] = ['satisfied', 'basically_satisfied', 'unsatisfied'];
const ratingOf = (d: Record<string, unknown>): Rating | undefined => RATING_VALUES.find((r) => r === d.rating);

/**
 * 办理进展 in plain words: "已安排给第一网格网格员" (not 分派), the resident's own rating as
 * "评价：不满意 — <comment>" (their comment is not a superior's 批示), "已办结（满意）" for a
 * case closed by a good rating. `unitName` names the units routing wrote into the rows.
 */
export function timelineLines(t: Messages, events: readonly TimelineEvent[], unitName: (id: number) => string | undefined): string[] {
  const c = t.cases;
  const lines: string[] = [];
  let lastRating: Rating | undefined;
  // The resident's comment on a rating belongs on that rating's line: it is the next rating
  // comment before the case is rated or resolved again (after 不满意 it follows the reopening).
  const commentOf = new Map<number, string>();
  const shown = new Set<number>();
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.kind !== 'rated') continue;
    for (let j = i + 1; j < events.length && events[j]!.kind !== 'rated' && events[j]!.kind !== 'resolved'; j++) {
      const e = events[j]!;
      if (e.kind === 'commented' && e.details.on === 'rating' && e.reason) {
        commentOf.set(i, e.reason);
        shown.add(j);
        break;
      }
    }
  }
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const at = formatDue(e.at);
    const line = (what: string, note = '') => lines.push(c.timelineLine({ at, what, note }));
    switch (e.kind) {
      case 'assigned': {
        const unit = typeof e.details.unitId === 'number' ? unitName(e.details.unitId) : undefined;
        if (!e.details.assigneeId) {
          line(unit ? t.timeline.waitingAt({ place: unit }) : c.event_assigned);
          break;
        }
        const sub = typeof e.details.subCommittee === 'string' ? (c as Record<string, unknown>)[`sub_${e.details.subCommittee}`] : undefined;
        const who =
          typeof sub === 'string'
            ? sub
            : unit === undefined
              ? undefined
              : e.level === 'grid'
                ? t.timeline.whoGrid({ unit })
                : e.level === 'community'
                  ? t.timeline.whoCommunity({ unit })
                  : t.timeline.whoUnit({ unit });
        line(who ? t.timeline.assignedTo({ who }) : c.event_assigned);
        break;
      }
      case 'rated': {
        lastRating = ratingOf(e.details);
        const rating = lastRating ? c[`rate_${lastRating}`] : '';
        const comment = commentOf.get(i);
        lines.push(c.timelineLine({ at, what: comment ? t.timeline.ratedWithComment({ rating, comment }) : t.timeline.rated({ rating }), note: '' }));
        break;
      }
      case 'commented':
        if (e.details.on === 'rating') {
          if (shown.has(i)) break; // shown with its rating
          const rating = lastRating ? c[`rate_${lastRating}`] : '';
          line(t.timeline.ratedWithComment({ rating, comment: e.reason ?? '' }));
        }
        break;
      case 'closed':
        if (e.reason === 'rated') line(t.timeline.closedRated({ rating: c[`rate_${ratingOf(e.details) ?? lastRating ?? 'satisfied'}`] }));
        else line(c.event_closed, e.reason && e.reason !== 'rated' ? closeReason(t, e.reason) : '');
        break;
      case 'resolved':
        line(c.event_resolved, e.reason ?? '');
        break;
      default:
        line(c[`event_${e.kind}`]);
    }
  }
  return lines;
}

function closeReason(t: Messages, reason: string): string {
  const label = (t.cases as Record<string, unknown>)[`close_${reason}`];
  return typeof label === 'string' ? label : '';
}

/** The status line: a case closed by a good rating reads 已办结（满意）, not 已关闭. */
export function statusLabel(t: Messages, c: { status: CaseStatus; closeReason: string | null; rating: Rating | null }): string {
  if (c.status === 'closed' && c.closeReason === 'rated' && c.rating) return t.timeline.statusClosedRated({ rating: t.cases[`rate_${c.rating}`] });
  return t.cases[`status_${c.status}`];
}
