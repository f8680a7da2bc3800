import { and, asc, eq, sql } from 'drizzle-orm';
import { caseCategories, caseFollowers, casePhotos, cases, slaPolicies } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import { chooseRoute, type RouteDecision, leadersIn, lineageIn, loadRoutingRefs } from '../routing/route.js';
import type { SubCommittee } from '../staff/codes.js';
import { assigneeCard, photoMedia, viewOf } from './card.js';
import type { CaseSettings, Effects, Notice } from './effects.js';
import { eventRow, insertEvents, startDeadline, type EventRow } from './record.js';
import { deadline, slaFor, type Level } from './rules.js';

/** 派单: a submitted case gets its holder, its accept deadline and the holder's card. */

/**
 * 派单 for one case. A case that is no longer `submitted` (routed already, by a job that ran
 * twice, a batch or the sweep) is left alone.
 */
export async function routeCase(tx: Tx, fx: Effects, caseId: string, settings: CaseSettings, now: Date): Promise<'routed' | 'skipped'> {
  const { routed, failed } = await routeCases(tx, fx, { ids: [caseId] }, settings, now);
  if (failed[0]) throw failed[0].error;
  return routed.includes(caseId) ? 'routed' : 'skipped';
}

/** What routing reads of a case (a batch reads hundreds: only these columns). */
const routingColumns = {
  id: cases.id,
  number: cases.number,
  status: cases.status,
  level: cases.level,
  communityId: cases.communityId,
  gridId: cases.gridId,
  placeId: cases.placeId,
  categoryId: cases.categoryId,
  priority: cases.priority,
  description: cases.description,
  locationLabel: cases.locationLabel,
  lat: cases.lat,
  lng: cases.lng,
  deadlineSeq: cases.deadlineSeq,
  reopenCount: cases.reopenCount,
  householdVerified: cases.householdVerified,
};

/**
 * 派单 for several cases in one transaction: duty list → owner → person, the accept deadline,
 * the card; reference data is read once and every write is one statement for the whole batch.
 * Which cases:
 * - `{ ids }`: those cases, waiting for their locks (taken in id order);
 * - `{ first, limit }`: up to `limit` cases still waiting, `first` first and then the oldest,
 *   skipping any another transaction holds — so concurrent route jobs take disjoint batches and
 *   the jobs of the cases a batch took find them done.
 * Cases no longer `submitted` are left alone. A case that cannot be routed (the org tree lacks the
 * level its duty list names) is left waiting and reported in `failed`, so one bad case never holds
 * back the rest of a batch; its own job fails and retries, and the sweep tries it again.
 */
export async function routeCases(
  tx: Tx,
  fx: Effects,
  pick: { ids: readonly string[] } | { first: string; limit: number },
  settings: CaseSettings,
  now: Date,
): Promise<{ routed: string[]; failed: { caseId: string; error: Error }[] }> {
  const locked =
    'ids' in pick
      ? pick.ids.length
        ? await tx.select(routingColumns).from(cases).where(anyOf(cases.id, pick.ids)).orderBy(asc(cases.id)).for('update')
        : []
      : await tx
          .select(routingColumns)
          .from(cases)
          .where(eq(cases.status, 'submitted'))
          .orderBy(sql`${cases.id} = ${pick.first} desc`, asc(cases.createdAt))
          .limit(pick.limit)
          .for('update', { skipLocked: true });
  const waiting = locked.filter((c) => c.status === 'submitted');
  if (waiting.length === 0) return { routed: [], failed: [] };
  const batch: typeof waiting = [];
  const failed: { caseId: string; error: Error }[] = [];

  const [refs, policies, categories, followers, photos] = await Promise.all([
    loadRoutingRefs(tx, waiting),
    tx.select().from(slaPolicies).where(anyOf(slaPolicies.priority, [...new Set(waiting.map((c) => c.priority))])),
    tx
      .select({ id: caseCategories.id, names: caseCategories.names, emergency: caseCategories.emergency })
      .from(caseCategories)
      .where(anyOf(caseCategories.id, [...new Set(waiting.map((c) => c.categoryId))])),
    tx
      .select({ caseId: caseFollowers.caseId, personId: caseFollowers.personId })
      .from(caseFollowers)
      .where(anyOf(caseFollowers.caseId, waiting.map((c) => c.id)))
      .orderBy(asc(caseFollowers.since)),
    tx
      .select({ caseId: casePhotos.caseId, key: casePhotos.storageKey })
      .from(casePhotos)
      .where(and(anyOf(casePhotos.caseId, waiting.map((c) => c.id)), eq(casePhotos.purpose, 'report')))
      .orderBy(asc(casePhotos.id)),
  ]);

  const updates: { id: string; level: Level; assignee_id: string | null; unit_id: number; sub_committee: SubCommittee | null; due_at: string; seq: number }[] = [];
  const events: EventRow[] = [];
  const told: Notice[] = [];
  const cards: Notice[] = [];
  for (const c of waiting) {
    // Decisions are plain functions over what was read; a case they cannot place (they throw
    // before anything is recorded for it) stays waiting.
    let decision: RouteDecision;
    let alsoTold: string[] = [];
    const category = categories.find((cat) => cat.id === c.categoryId);
    try {
      decision = chooseRoute(refs, c);
      if (category?.emergency || c.priority === 'urgent') {
        // 重大紧急突发事件: community and street hear at once, not after a missed deadline.
        const leaders = (['community', 'street'] as const).flatMap((level) => leadersIn(refs, c.communityId, level).people);
        alsoTold = [...new Set(leaders)].filter((p) => p !== decision.assigneeId);
      }
    } catch (err) {
      failed.push({ caseId: c.id, error: err as Error });
      continue;
    }
    batch.push(c);
    const due = deadline(slaFor(policies, c.categoryId, c.priority), 'accept', now, { scale: settings.deadlineScale });
    const timer = startDeadline(fx, c, due, now, { remind: decision.assigneeId !== null });
    updates.push({
      id: c.id,
      level: decision.level,
      assignee_id: decision.assigneeId,
      unit_id: decision.unitId,
      sub_committee: decision.subCommittee,
      due_at: timer.dueAt.toISOString(),
      seq: timer.deadlineSeq,
    });
    events.push(
      eventRow(c, 'assigned', {
        toStatus: 'assigned',
        level: decision.level,
        reason: decision.why,
        details: { assigneeId: decision.assigneeId, unitId: decision.unitId, subCommittee: decision.subCommittee, department: decision.department, dueAt: due.toISOString() },
        at: now,
      }),
    );
    const view = viewOf(c, category, c.placeId === null ? [] : lineageIn(refs, c.placeId), photos.filter((p) => p.caseId === c.id).map((p) => p.key));
    for (const personId of alsoTold) {
      told.push({
        personId,
        build: (t, locale) => ({
          text: t.cases.emergencyCard({ number: view.number, category: view.category(locale), place: view.place(t), description: view.description }),
          media: photoMedia(view),
          choices: [
            { id: `co:${c.id}`, label: t.cases.takeOver },
            { id: `cm:${c.id}`, label: t.cases.comment },
          ],
        }),
      });
    }
    const department = decision.department;
    // Nobody bound where it belongs yet: the resident hears the truth, not "handed over".
    const waits = decision.assigneeId === null;
    for (const f of followers) {
      if (f.caseId !== c.id) continue;
      told.push({
        personId: f.personId,
        build: (t) => ({
          text: waits
            ? t.report.toldWaiting({ number: c.number })
            : department
              ? t.cases.toldDepartment({ number: c.number, department })
              : t.cases.toldAssigned({ number: c.number }),
        }),
      });
    }
    if (decision.assigneeId) cards.push({ personId: decision.assigneeId, build: assigneeCard(view, c, due) });
  }

  if (batch.length === 0) return { routed: [], failed };
  // Whole-batch writes with the rows as one JSON parameter: the statement text is the same for
  // any batch size (one prepared statement) and costs nothing to build.
  await tx.execute(sql`
    update cases set status = 'assigned', level = v.level, assignee_id = v.assignee_id, assignee_unit_id = v.unit_id,
                     assignee_sub_committee = v.sub_committee, due_at = v.due_at, deadline_seq = v.seq, updated_at = ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb)
         as v (id uuid, level escalation_level, assignee_id uuid, unit_id int, sub_committee sub_committee, due_at timestamptz, seq int)
    where cases.id = v.id`);
  await insertEvents(tx, events);
  // Cards last: they also record each worker's "last choices shown" (a row every routing to that
  // worker writes), so those rows are locked as briefly as possible before commit.
  await fx.notifyAll([...told, ...cards]);
  return { routed: batch.map((c) => c.id), failed };
}
