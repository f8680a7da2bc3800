import { and, eq } from 'drizzle-orm';
import { casePhotos, cases } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Messages } from '../i18n/index.js';
import { assigneeCard, caseView } from './card.js';
import type { CasePhotoInput, CaseSettings, Effects } from './effects.js';
import { CaseError, event, followersOf, lockCase, must, slaOf, startDeadline, tellFollowers } from './record.js';
import { deadline, ratingOutcome, type Rating } from './rules.js';

// ── Residents after resolution ─────────────────────────────────────────────────────────────

/**
 * 好差评. 不满意 reopens it (重办) with the same holder, who must accept it again and then has half
 * the time to resolve it; otherwise it closes. The holder hears the rating either way.
 */
export async function rateCase(tx: Tx, fx: Effects, caseId: string, personId: string, rating: Rating, settings: CaseSettings, now: Date) {
  const c = await lockCase(tx, caseId);
  must('rate', c);
  const followers = await followersOf(tx, c.id);
  if (c.reporterId !== personId && !followers.includes(personId)) throw new CaseError('not_yours', c.status);
  await event(tx, c, 'rated', { actorId: personId, details: { rating }, at: now });
  const told = (t: Messages) => t.timeline.ratingForStaff({ number: c.number, rating: t.cases[`rate_${rating}`] });
  if (ratingOutcome(rating) === 'close') {
    await tx.update(cases).set({ status: 'closed', rating, closeReason: 'rated', closedAt: now, dueAt: null, updatedAt: now }).where(eq(cases.id, c.id));
    await event(tx, c, 'closed', { actorId: personId, toStatus: 'closed', reason: 'rated', details: { rating }, at: now });
    if (c.assigneeId) await fx.notify(c.assigneeId, (t) => ({ text: told(t) }));
    return { number: c.number, outcome: 'closed' as const };
  }
  const sla = await slaOf(tx, c);
  const due = deadline(sla, 'accept', now, { scale: settings.deadlineScale });
  const timer = startDeadline(fx, c, due, now, { remind: c.assigneeId !== null });
  const reopened = { ...c, status: 'assigned' as const, reopenCount: c.reopenCount + 1 };
  await tx
    .update(cases)
    .set({ status: 'assigned', rating, reopenCount: reopened.reopenCount, resolvedAt: null, ...timer, updatedAt: now })
    .where(eq(cases.id, c.id));
  await event(tx, c, 'reopened', { actorId: personId, toStatus: 'assigned', reason: 'unsatisfied', details: { dueAt: due.toISOString() }, at: now });
  if (c.assigneeId) {
    const card = assigneeCard(await caseView(tx, reopened), reopened, due);
    await fx.notify(c.assigneeId, (t, locale) => {
      const say = card(t, locale);
      return { ...say, text: `${told(t)}\n\n${say.text}` };
    });
  }
  await tellFollowers(tx, fx, c.id, (t) => ({ text: t.cases.toldReopened({ number: c.number }) }));
  return { number: c.number, outcome: 'reopened' as const };
}

/** The resident's words on their rating (or on why they were not satisfied); the holder hears them. */
export async function commentOnRating(tx: Tx, fx: Pick<Effects, 'notify'>, caseId: string, personId: string, comment: string, now: Date) {
  const [c] = await tx.select().from(cases).where(and(eq(cases.id, caseId)));
  if (!c || (c.reporterId !== personId && !(await followersOf(tx, caseId)).includes(personId))) throw new CaseError('not_yours');
  await tx.update(cases).set({ ratingComment: comment, updatedAt: now }).where(eq(cases.id, caseId));
  await event(tx, c, 'commented', { actorId: personId, reason: comment, public: true, details: { on: 'rating' }, at: now });
  const rating = c.rating;
  if (c.assigneeId && rating) {
    await fx.notify(c.assigneeId, (t) => ({
      text: t.timeline.ratingForStaffWithComment({ number: c.number, rating: t.cases[`rate_${rating}`], comment }),
    }));
  }
}

/** 补充情况 while the case is open; the holder hears it. */
export async function addInfo(tx: Tx, fx: Effects, caseId: string, personId: string, text: string | null, photo: CasePhotoInput | null, now: Date) {
  const c = await lockCase(tx, caseId);
  must('addInfo', c);
  if (c.reporterId !== personId && !(await followersOf(tx, caseId)).includes(personId)) throw new CaseError('not_yours', c.status);
  if (photo) await tx.insert(casePhotos).values({ caseId, ...photo, purpose: 'info', addedBy: personId });
  await event(tx, c, 'info_added', { actorId: personId, reason: text ?? undefined, details: { photo: !!photo }, at: now });
  if (c.assigneeId) {
    await fx.notify(c.assigneeId, (t) => ({
      text: t.cases.infoForStaff({ number: c.number, text: text ?? '📷' }),
      media: photo ? [{ kind: 'photo' as const, fileRef: photo.storageKey }] : undefined,
    }));
  }
  return { number: c.number };
}
