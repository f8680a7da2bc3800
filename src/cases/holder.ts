import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { caseFollowers, casePhotos, cases } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Messages } from '../i18n/index.js';
import { getUnit } from '../org/tree.js';
import { leadersAt, staffAt } from '../routing/route.js';
import type { SubCommittee } from '../staff/codes.js';
import { assigneeCard, caseView } from './card.js';
import type { CasePhotoInput, CaseSettings, Effects } from './effects.js';
import { CaseError, event, followersOf, lockCase, must, mustBeHolder, slaOf, startDeadline, tellFollowers, type CaseRow } from './record.js';
import { deadline, type Level } from './rules.js';

/** What the holder of a case does with it: 接单, 办结, 转办, 退回社区, close for another reason. */

/** 接单. The resolve deadline starts now (halved after a 重办). */
export async function acceptCase(tx: Tx, fx: Effects, caseId: string, actorId: string, settings: CaseSettings, now: Date) {
  return startWork(tx, fx, caseId, actorId, settings, now, 'accept');
}

/**
 * Someone takes the case into their hands: the assignee accepting it, or a leader taking it over
 * (我来处理). Either way the resolve deadline starts now and the resident hears it is in hand.
 */
export async function startWork(tx: Tx, fx: Effects, caseId: string, actorId: string, settings: CaseSettings, now: Date, how: 'accept' | 'takeOver') {
  const c = await lockCase(tx, caseId);
  must(how, c);
  await mustBeHolder(tx, c, actorId);
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'resolve', now, { scale: settings.deadlineScale, reopened: c.reopenCount > 0 });
  const timer = startDeadline(fx, c, due, now, { remind: true });
  await tx
    .update(cases)
    .set({ status: 'accepted', assigneeId: actorId, acceptedAt: c.acceptedAt ?? now, firstResponseAt: c.firstResponseAt ?? now, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'accepted', { actorId, toStatus: 'accepted', reason: how === 'takeOver' ? 'take_over' : undefined, details: { dueAt: due.toISOString() }, at: now });
  if (c.status !== 'accepted') await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldAccepted({ number: c.number }) }));
  return { number: c.number, due };
}

/**
 * 办结 with a note the resident sees (and an optional photo). Resolves linked duplicates
 * together; every follower is asked to rate.
 */
export async function resolveCase(
  tx: Tx,
  fx: Effects,
  caseId: string,
  actorId: string,
  note: string,
  photo: CasePhotoInput | null,
  settings: CaseSettings,
  now: Date,
) {
  const c = await lockCase(tx, caseId);
  must('resolve', c);
  await mustBeHolder(tx, c, actorId);
  // Unrated cases close as 默认满意 when this deadline passes (the same timer machinery).
  const autoClose = new Date(now.getTime() + Math.max(1, Math.round(settings.autoCloseDays * 86_400_000 * settings.deadlineScale)));
  const seq = c.deadlineSeq + 1;
  fx.schedule({ kind: 'escalate', caseId: c.id, seq, at: autoClose });
  await tx
    .update(cases)
    .set({
      status: 'resolved',
      assigneeId: c.assigneeId ?? actorId,
      acceptedAt: c.acceptedAt ?? now,
      firstResponseAt: c.firstResponseAt ?? now,
      resolvedAt: now,
      rating: null,
      ratingComment: null,
      dueAt: autoClose,
      deadlineSeq: seq,
      closeNote: note,
      updatedAt: now,
    })
    .where(eq(cases.id, c.id));
  if (photo) await tx.insert(casePhotos).values({ caseId: c.id, ...photo, purpose: 'resolution', addedBy: actorId });
  await event(tx, c, 'resolved', { actorId, toStatus: 'resolved', reason: note, details: { photo: !!photo }, at: now });
  await tellFollowers(tx, fx, c.id, (t) => ({
    text: t.cases.toldResolved({ number: c.number, note }),
    media: photo ? [{ kind: 'photo' as const, fileRef: photo.storageKey }] : undefined,
    choices: (['satisfied', 'basically_satisfied', 'unsatisfied'] as const).map((r) => ({ id: `cr:${c.id}:${r[0]}`, label: t.cases[`rate_${r}`] })),
  }));
  return { number: c.number };
}

export type TransferTarget = { kind: 'grid'; gridId: number } | { kind: 'subCommittee'; subCommittee: SubCommittee };

/** 转办 to another grid or a sub-committee, with a reason; the new holder gets a fresh card. */
export async function transferCase(tx: Tx, fx: Effects, caseId: string, actorId: string, target: TransferTarget, reason: string, settings: CaseSettings, now: Date) {
  const c = await lockCase(tx, caseId);
  must('transfer', c);
  await mustBeHolder(tx, c, actorId);
  let assigneeId: string | null = null;
  let unitId = c.communityId;
  let level: Level = 'community';
  let subCommittee: SubCommittee | null = null;
  let toLabel: (t: Messages) => string;
  if (target.kind === 'grid') {
    const grid = await getUnit(tx, target.gridId);
    const community = await getUnit(tx, c.communityId);
    if (!grid || grid.kind !== 'grid' || !community || !grid.path.startsWith(community.path)) throw new CaseError('not_allowed', c.status);
    assigneeId = (await staffAt(tx, grid.id, ['grid_worker']))[0]?.personId ?? null;
    unitId = grid.id;
    level = assigneeId ? 'grid' : 'community';
    toLabel = () => grid.name;
    if (!assigneeId) assigneeId = (await leadersAt(tx, c.communityId, 'community')).people[0] ?? null;
  } else {
    subCommittee = target.subCommittee;
    assigneeId = (await staffAt(tx, c.communityId, ['subcommittee_member'], { subCommittee }))[0]?.personId ?? null;
    if (!assigneeId) assigneeId = (await leadersAt(tx, c.communityId, 'community')).people[0] ?? null;
    const sub = subCommittee;
    toLabel = (t) => t.cases[`sub_${sub}`];
  }
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'accept', now, { scale: settings.deadlineScale });
  const timer = startDeadline(fx, c, due, now, { remind: true });
  await tx
    .update(cases)
    .set({ status: 'assigned', assigneeId, assigneeUnitId: unitId, assigneeSubCommittee: subCommittee, level, gridId: target.kind === 'grid' ? target.gridId : c.gridId, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'transferred', { actorId, toStatus: 'assigned', level, reason, details: { assigneeId, unitId, subCommittee, dueAt: due.toISOString() }, at: now });
  const view = await caseView(tx, { ...c, gridId: target.kind === 'grid' ? target.gridId : c.gridId });
  if (assigneeId && assigneeId !== actorId) await fx.notify(assigneeId, assigneeCard(view, c, due));
  await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldAssigned({ number: c.number }) }));
  return { number: c.number, toLabel: toLabel! };
}

/** 退回社区: the holder gives it back with a reason; the community office holds it next. */
export async function returnToCommunity(tx: Tx, fx: Effects, caseId: string, actorId: string, reason: string, settings: CaseSettings, now: Date) {
  const c = await lockCase(tx, caseId);
  must('return', c);
  await mustBeHolder(tx, c, actorId);
  const leaders = (await leadersAt(tx, c.communityId, 'community')).people;
  const assigneeId = leaders.find((p) => p !== actorId) ?? leaders[0] ?? null;
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'accept', now, { scale: settings.deadlineScale });
  const timer = startDeadline(fx, c, due, now, { remind: true });
  await tx
    .update(cases)
    .set({ status: 'assigned', level: 'community', assigneeId, assigneeUnitId: c.communityId, assigneeSubCommittee: null, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'returned', { actorId, toStatus: 'assigned', level: 'community', reason, details: { assigneeId, dueAt: due.toISOString() }, at: now });
  if (assigneeId && assigneeId !== actorId) await fx.notify(assigneeId, assigneeCard(await caseView(tx, c), c, due));
  return { number: c.number };
}

// ── Closing without a fix: never just "not responsible" ─────────────────────────────────────

export type StaffCloseReason = 'not_our_duty' | 'transferred_out' | 'duplicate';

/**
 * Closes an open case for a reason other than a fix. 不属于本社区职责 and 已转办 must say where it
 * went; 重复 names the case it duplicates, whose followers it joins (they all hear the outcome).
 */
export async function closeCase(
  tx: Tx,
  fx: Effects,
  caseId: string,
  actorId: string,
  reason: StaffCloseReason,
  detail: string,
  now: Date,
): Promise<{ number: string; duplicateOf?: string }> {
  const c = await lockCase(tx, caseId);
  must('close', c);
  await mustBeHolder(tx, c, actorId);
  let duplicateOf: CaseRow | undefined;
  if (reason === 'duplicate') {
    [duplicateOf] = await tx.select().from(cases).where(and(eq(cases.number, detail.trim().toUpperCase()), eq(cases.communityId, c.communityId)));
    if (!duplicateOf || duplicateOf.id === c.id || duplicateOf.status === 'closed') throw new CaseError('not_found');
    for (const personId of await followersOf(tx, c.id)) {
      await tx.insert(caseFollowers).values({ caseId: duplicateOf.id, personId, since: now }).onConflictDoNothing();
    }
    await event(tx, duplicateOf, 'linked', { actorId, public: false, details: { duplicate: c.id }, at: now });
  }
  await tx
    .update(cases)
    .set({ status: 'closed', closeReason: reason, closeNote: detail, closedAt: now, dueAt: null, duplicateOf: duplicateOf?.id ?? null, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'closed', { actorId, toStatus: 'closed', reason, details: { detail, duplicateOf: duplicateOf?.id ?? null }, at: now });
  await tellFollowers(tx, fx, c.id, (t) => ({
    text: t.cases.toldClosed({ number: c.number, reason: t.cases.reasonWithDetail({ reason: t.cases[`close_${reason}`], detail: duplicateOf ? duplicateOf.number : detail }) }),
  }));
  return { number: c.number, duplicateOf: duplicateOf?.number };
}

/** Open cases a person holds, soonest deadline first (the worker's 待办 list). */
export async function openCasesOf(tx: Tx, personId: string) {
  return tx
    .select({ id: cases.id, number: cases.number, status: cases.status, dueAt: cases.dueAt })
    .from(cases)
    .where(and(eq(cases.assigneeId, personId), inArray(cases.status, ['assigned', 'accepted']), isNull(cases.closedAt)))
    .orderBy(sql`${cases.dueAt} asc nulls last`)
    .limit(20);
}
