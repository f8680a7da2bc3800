import { and, eq, sql } from 'drizzle-orm';
import { caseEvents, cases } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { leadersIn, loadRoutingRefs } from '../routing/route.js';
import { caseView, formatDue, photoMedia } from './card.js';
import type { CaseSettings, Effects } from './effects.js';
import { startWork } from './holder.js';
import { event, lockCase, mustBeHolder, slaOf, tellFollowers } from './record.js';
import { allowed, deadline, nextLevel, type Level } from './rules.js';

// ── Deadlines ──────────────────────────────────────────────────────────────────────────────

/**
 * A deadline passed. Does nothing unless `seq` is still the case's running deadline and has not
 * escalated yet — so the timer, a duplicate timer and the sweep can all call it safely. Open
 * cases climb one level (county stays county and is told again); resolved cases nobody rated
 * close as 默认满意.
 */
export async function deadlinePassed(
  tx: Tx,
  fx: Effects,
  caseId: string,
  seq: number,
  settings: CaseSettings,
  now: Date,
): Promise<'escalated' | 'closed' | 'skipped' | { early: Date }> {
  const c = await lockCase(tx, caseId);
  if (c.deadlineSeq !== seq || c.escalatedSeq >= seq || !c.dueAt) return 'skipped';
  // A timer that fires before its time (clocks of two machines disagree) tries again at the due time.
  if (c.dueAt > now) return { early: c.dueAt };
  if (c.status === 'resolved') {
    await tx
      .update(cases)
      .set({ status: 'closed', closeReason: 'default_satisfied', closedAt: now, escalatedSeq: seq, dueAt: null, updatedAt: now })
      .where(eq(cases.id, c.id));
    await event(tx, c, 'closed', { toStatus: 'closed', reason: 'default_satisfied', at: now });
    await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldClosed({ number: c.number, reason: t.cases.close_default_satisfied }) }));
    return 'closed';
  }
  if (!allowed('escalate', c.status)) return 'skipped';
  // The nearest level up that has someone bound (a level nobody answers for is skipped); the county at the top.
  const refs = await loadRoutingRefs(tx, [{ communityId: c.communityId }]);
  let to: Exclude<Level, 'grid'> = (nextLevel(c.level) ?? 'county') as Exclude<Level, 'grid'>;
  let leaders = leadersIn(refs, c.communityId, to).people;
  while (leaders.length === 0 && to !== 'county') {
    to = nextLevel(to) as Exclude<Level, 'grid'>;
    leaders = leadersIn(refs, c.communityId, to).people;
  }
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'escalation', now, { scale: settings.deadlineScale });
  const next = seq + 1;
  fx.schedule({ kind: 'escalate', caseId: c.id, seq: next, at: due });
  await tx
    .update(cases)
    .set({ level: to, escalatedSeq: seq, deadlineSeq: next, dueAt: due, updatedAt: now })
    .where(eq(cases.id, c.id));
  const missed = c.status === 'accepted' ? 'resolve' : 'accept';
  await event(tx, c, 'escalated', { level: to, reason: `missed_${missed}`, details: { from: c.level, to, seq, dueAt: due.toISOString(), leaders: leaders.length }, at: now });
  const view = await caseView(tx, c);
  for (const personId of leaders) {
    await fx.notify(personId, (t, locale) => ({
      text: t.cases.escalatedCard({
        number: view.number,
        level: t.cases[`level_${to}`],
        category: view.category(locale),
        place: view.place(t),
        description: view.description,
        due: formatDue(due),
      }),
      media: photoMedia(view),
      choices: [
        { id: `co:${c.id}`, label: t.cases.takeOver },
        { id: `cg:${c.id}`, label: t.cases.reassign },
        { id: `cm:${c.id}`, label: t.cases.comment },
      ],
    }));
  }
  if (c.level === 'grid') await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldEscalated({ number: c.number }) }));
  return 'escalated';
}

/**
 * Reminder `n` of a deadline: only while the same deadline runs and the holder has not acted on
 * it. 'stale' when that deadline is over (acted on, moved on): its timer has nothing left to do.
 */
export async function remindHolder(tx: Tx, fx: Effects, caseId: string, seq: number, n: number, now: Date): Promise<'reminded' | 'skipped' | 'stale'> {
  const c = await lockCase(tx, caseId);
  if (c.deadlineSeq !== seq || c.escalatedSeq >= seq || !c.dueAt) return 'stale';
  if (!c.assigneeId || c.dueAt <= now || (c.status !== 'assigned' && c.status !== 'accepted')) return 'skipped';
  const [already] = await tx
    .select({ id: caseEvents.id })
    .from(caseEvents)
    .where(and(eq(caseEvents.caseId, c.id), eq(caseEvents.kind, 'reminded'), sql`${caseEvents.details}->>'key' = ${`${seq}-${n}`}`));
  if (already) return 'skipped';
  await event(tx, c, 'reminded', { public: false, details: { key: `${seq}-${n}` }, at: now });
  const due = c.dueAt;
  const stage = c.status;
  await fx.notify(c.assigneeId, (t) => ({
    text: t.cases.reminder({ number: c.number, due: formatDue(due), what: stage === 'assigned' ? t.cases.whatAccept : t.cases.whatResolve }),
    choices: stage === 'assigned' ? [{ id: `ck:${c.id}`, label: t.cases.accept }] : [{ id: `cv:${c.id}`, label: t.cases.resolve }],
  }));
  return 'reminded';
}

// ── Leaders' actions on escalated cases ────────────────────────────────────────────────────

/** 我来处理: a leader takes the case over (accepting it) with a fresh resolve deadline. */
export async function takeOver(tx: Tx, fx: Effects, caseId: string, actorId: string, settings: CaseSettings, now: Date) {
  return startWork(tx, fx, caseId, actorId, settings, now, 'takeOver');
}

/** 批示: a comment for the holder, kept in the (staff-only) timeline. */
export async function commentCase(tx: Tx, fx: Effects, caseId: string, actorId: string, text: string, now: Date) {
  const c = await lockCase(tx, caseId);
  await mustBeHolder(tx, c, actorId);
  await event(tx, c, 'commented', { actorId, reason: text, public: false, at: now });
  if (c.assigneeId && c.assigneeId !== actorId) await fx.notify(c.assigneeId, (t) => ({ text: t.cases.commentForAssignee({ number: c.number, text }) }));
  return { number: c.number };
}

