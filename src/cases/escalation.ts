import { and, asc, eq, sql } from 'drizzle-orm';
import { caseCategories, caseEvents, caseFollowers, casePhotos, cases, slaPolicies } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import { leadersIn, lineageIn, loadRoutingRefs } from '../routing/route.js';
import { formatDue, photoMedia, viewOf } from './card.js';
import type { CaseSettings, Effects, Notice } from './effects.js';
import { startWork } from './holder.js';
import { CaseError, event, eventRow, insertEvents, lockCase, mustBeHolder, type CaseRow, type EventRow } from './record.js';
import { allowed, deadline, nextLevel, slaFor, type Level } from './rules.js';

// ── Deadlines ──────────────────────────────────────────────────────────────────────────────

export type DeadlineOutcome = 'escalated' | 'closed' | 'skipped' | { early: Date };

/**
 * A deadline passed. Does nothing unless `seq` is still the case's running deadline and has not
 * escalated yet — so the timer, a duplicate timer and the sweep can all call it safely. Open
 * cases climb one level (county stays county and is told again); resolved cases nobody rated
 * close as 默认满意.
 */
export async function deadlinePassed(tx: Tx, fx: Effects, caseId: string, seq: number, settings: CaseSettings, now: Date): Promise<DeadlineOutcome> {
  return (await deadlinesPassed(tx, fx, [{ caseId, seq }], settings, now))[0]!;
}

/** What a case deadline decides for one case, before anything is written (plain data). */
type Step =
  | { c: CaseRow; seq: number; do: 'close' }
  | { c: CaseRow; seq: number; do: 'escalate'; to: Exclude<Level, 'grid'>; leaders: string[]; due: Date };

/**
 * deadlinePassed for a batch of deadlines (a burst of timers falling due together), set-based as
 * routing is: the cases are locked in one statement (id order), what the decisions need is read
 * once for the batch, and every write — case rows, timeline rows, cards and the residents' notes,
 * next deadlines — is one statement for the whole batch. One outcome per item, in order. A case
 * whose decision throws (the org tree lacks a level) throws for the batch: the timer batch then
 * fires its timers one by one (src/timers/fire.ts), so the others still escalate.
 */
export async function deadlinesPassed(
  tx: Tx,
  fx: Effects,
  items: readonly { caseId: string; seq: number }[],
  settings: CaseSettings,
  now: Date,
): Promise<DeadlineOutcome[]> {
  if (items.length === 0) return [];
  const rows = await tx.select().from(cases).where(anyOf(cases.id, [...new Set(items.map((i) => i.caseId))])).orderBy(asc(cases.id)).for('update');
  const current = new Map(rows.map((r) => [r.id, r]));
  const outcomes: DeadlineOutcome[] = [];
  const steps: Step[] = [];
  for (const { caseId, seq } of items) {
    const c = current.get(caseId);
    if (!c) throw new CaseError('not_found');
    if (c.deadlineSeq !== seq || c.escalatedSeq >= seq || !c.dueAt) outcomes.push('skipped');
    // A timer that fires before its time (clocks of two machines disagree) tries again at the due time.
    else if (c.dueAt > now) outcomes.push({ early: c.dueAt });
    else if (c.status === 'resolved') {
      outcomes.push('closed');
      steps.push({ c, seq, do: 'close' });
      current.set(c.id, { ...c, status: 'closed', escalatedSeq: seq, dueAt: null });
    } else if (!allowed('escalate', c.status)) outcomes.push('skipped');
    else {
      outcomes.push('escalated');
      // Filled in below, once the batch's references are read; the same case twice sees itself escalated.
      steps.push({ c, seq, do: 'escalate', to: 'county', leaders: [], due: now });
      current.set(c.id, { ...c, escalatedSeq: seq, deadlineSeq: seq + 1 });
    }
  }
  if (steps.length === 0) return outcomes;

  const climbing = steps.filter((s) => s.do === 'escalate').map((s) => s.c);
  const [refs, policies, categories, followers, photos] = await Promise.all([
    // Only the org tree and its staff: no duty list (leaders are by level).
    climbing.length ? loadRoutingRefs(tx, climbing.map((c) => ({ communityId: c.communityId, placeId: c.placeId }))) : undefined,
    climbing.length ? tx.select().from(slaPolicies).where(anyOf(slaPolicies.priority, [...new Set(climbing.map((c) => c.priority))])) : [],
    climbing.length
      ? tx
          .select({ id: caseCategories.id, names: caseCategories.names, emergency: caseCategories.emergency })
          .from(caseCategories)
          .where(anyOf(caseCategories.id, [...new Set(climbing.map((c) => c.categoryId))]))
      : [],
    tx
      .select({ caseId: caseFollowers.caseId, personId: caseFollowers.personId })
      .from(caseFollowers)
      .where(anyOf(caseFollowers.caseId, [...new Set(steps.filter((s) => s.do === 'close' || s.c.level === 'grid').map((s) => s.c.id))]))
      .orderBy(asc(caseFollowers.since)),
    climbing.length
      ? tx
          .select({ caseId: casePhotos.caseId, key: casePhotos.storageKey })
          .from(casePhotos)
          .where(and(anyOf(casePhotos.caseId, [...new Set(climbing.map((c) => c.id))]), eq(casePhotos.purpose, 'report')))
          .orderBy(asc(casePhotos.id))
      : [],
  ]);
  const followersOf = (caseId: string) => followers.filter((f) => f.caseId === caseId).map((f) => f.personId);

  const closes: { id: string; seq: number }[] = [];
  const climbs: { id: string; level: Level; seq: number; next: number; due_at: string }[] = [];
  const events: EventRow[] = [];
  const notices: Notice[] = [];
  for (const step of steps) {
    const c = step.c;
    if (step.do === 'close') {
      closes.push({ id: c.id, seq: step.seq });
      events.push(eventRow(c, 'closed', { toStatus: 'closed', reason: 'default_satisfied', at: now }));
      for (const personId of followersOf(c.id)) {
        notices.push({ personId, build: (t) => ({ text: t.cases.toldClosed({ number: c.number, reason: t.cases.close_default_satisfied }) }) });
      }
      continue;
    }
    // The nearest level up that has someone bound (a level nobody answers for is skipped); the county at the top.
    let to: Exclude<Level, 'grid'> = (nextLevel(c.level) ?? 'county') as Exclude<Level, 'grid'>;
    let leaders = leadersIn(refs!, c.communityId, to).people;
    while (leaders.length === 0 && to !== 'county') {
      to = nextLevel(to) as Exclude<Level, 'grid'>;
      leaders = leadersIn(refs!, c.communityId, to).people;
    }
    const due = deadline(slaFor(policies, c.categoryId, c.priority), 'escalation', now, { scale: settings.deadlineScale });
    const next = step.seq + 1;
    fx.schedule({ kind: 'escalate', caseId: c.id, seq: next, at: due });
    climbs.push({ id: c.id, level: to, seq: step.seq, next, due_at: due.toISOString() });
    const missed = c.status === 'accepted' ? 'resolve' : 'accept';
    events.push(
      eventRow(c, 'escalated', { level: to, reason: `missed_${missed}`, details: { from: c.level, to, seq: step.seq, dueAt: due.toISOString(), leaders: leaders.length }, at: now }),
    );
    const category = categories.find((cat) => cat.id === c.categoryId);
    const view = viewOf(c, category, c.placeId === null ? [] : lineageIn(refs!, c.placeId), photos.filter((p) => p.caseId === c.id).map((p) => p.key));
    const level = to;
    for (const personId of leaders) {
      notices.push({
        personId,
        build: (t, locale) => ({
          text: t.cases.escalatedCard({
            number: view.number,
            level: t.cases[`level_${level}`],
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
        }),
      });
    }
    if (c.level === 'grid') for (const personId of followersOf(c.id)) notices.push({ personId, build: (t) => ({ text: t.cases.toldEscalated({ number: c.number }) }) });
  }

  // Whole-batch writes, the rows as one JSON parameter (one prepared statement whatever the size).
  // A case listed twice (never from timers: one per case) keeps its last row.
  const last = <T extends { id: string }>(list: T[]) => [...new Map(list.map((r) => [r.id, r])).values()];
  if (closes.length) {
    await tx.execute(sql`
      update cases set status = 'closed', close_reason = 'default_satisfied', closed_at = ${now.toISOString()}::timestamptz, escalated_seq = v.seq,
                       due_at = null, updated_at = ${now.toISOString()}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(last(closes))}::jsonb) as v (id uuid, seq int)
      where cases.id = v.id`);
  }
  if (climbs.length) {
    await tx.execute(sql`
      update cases set level = v.level, escalated_seq = v.seq, deadline_seq = v.next, due_at = v.due_at, updated_at = ${now.toISOString()}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(last(climbs))}::jsonb) as v (id uuid, level escalation_level, seq int, next int, due_at timestamptz)
      where cases.id = v.id`);
  }
  await insertEvents(tx, events);
  await fx.notifyAll(notices);
  return outcomes;
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

