import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { consultations } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { audiencePages } from '../audience/audience.js';
import { LOCALES, type Config, type Locale } from '../config.js';
import { messages, type Messages } from '../i18n/index.js';
import { confirmNotice, createNotice } from '../notices/commands.js';
import { followUpIn } from '../notices/follow.js';
import { formatLocal, type QuietHours } from '../notices/rules.js';
import type { UnitOfWork } from '../work/unit.js';
import { linkBallots } from './chain.js';
import { ConsultationError, lockConsultation, mustReach, scopesOf, type ConsultationRow } from './commands.js';
import { explainResult, optionLines, refusalText } from './explain.js';
import { decide, mayClose, openingRefusal, reminderAt, type Decision, type Tally } from './rules.js';
import { adoptTopic } from './topics.js';
import { eligibleFor, eligibleSnapshot, tallyOf, type EligibleSnapshot } from './tally.js';

/**
 * A consultation's life: open (announced to the voters through a 居务公开 notice, closing and
 * reminder timers armed) at once or at a set time (定时开始, by its timer), the reminder, close (by its timer, the sweep behind it, or early by
 * staff where allowed, with a reason), publish (frozen, announced). All through the caller's unit
 * of work, so the change, its notice and its timers commit together.
 */

export const CONSULTATION_CLOSE_TIMER = 'consultation-close';
export const CONSULTATION_REMIND_TIMER = 'consultation-remind';
/** 定时开始: subject = the consultation, `data.by` = who scheduled it (the opening is theirs); seq 1, rescheduling replaces it. */
export const CONSULTATION_OPEN_TIMER = 'consultation-open';
export const openTimerData = z.object({ by: z.uuid() });

export interface LifecycleDeps {
  quiet: { hours: QuietHours; timeZone: string };
  /** The main language of its notices (the public page's); each voter gets theirs. */
  locale: Locale;
}

/** The deps as the config gives them: every caller (chat flows, CLI) builds them the same way. */
export function lifecycleDeps(config: Pick<Config, 'notices' | 'defaultLocale'>): LifecycleDeps {
  return { quiet: { hours: config.notices.quietHours, timeZone: config.notices.timeZone }, locale: config.defaultLocale };
}

export interface ConsultationResult {
  eligible: EligibleSnapshot;
  tally: Tally;
  decision: Decision;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * A 居务公开 notice by `actorId` to the consultation's voters, sent now (fan-out after commit),
 * written in every language so each voter reads it in theirs; `deps.locale`'s is its main text
 * (the public page's).
 */
async function announce(uow: UnitOfWork, c: ConsultationRow, actorId: string, write: (m: Messages) => { title: string; body: string }, now: Date, deps: LifecycleDeps): Promise<string> {
  const inLocale = (l: Locale) => {
    const w = write(messages(l));
    return { title: cut(w.title, 60), body: cut(w.body, 900) };
  };
  const main = inLocale(deps.locale);
  const notice = await createNotice(
    uow.tx,
    actorId,
    { ...main, texts: Object.fromEntries(LOCALES.map((l) => [l, inLocale(l)])), category: 'affairs', scopeUnitIds: await scopesOf(uow.tx, c.id), groups: c.basis === 'owners' ? ['owners'] : [] },
    now,
  );
  await followUpIn(uow, await confirmNotice(uow.tx, actorId, notice.id, now, deps.quiet));
  return notice.id;
}

/** 开始投票: counts who may vote, arms closing and the reminder, and tells the voters. */
export async function openConsultation(uow: UnitOfWork, actorId: string, id: string, now: Date, deps: LifecycleDeps): Promise<ConsultationRow> {
  const c = await lockConsultation(uow.tx, id);
  if (c.status !== 'draft') throw new ConsultationError('status', { status: c.status });
  await mustReach(uow.tx, actorId, await scopesOf(uow.tx, id));
  if (c.closesAt.getTime() <= now.getTime()) throw new ConsultationError('in_past');
  const eligible = await eligibleSnapshot(uow.tx, id, c.basis);
  const noticeId = await announce(
    uow,
    c,
    actorId,
    ({ consultations: t }) => ({ title: t.announceTitle({ title: c.title }), body: t.announceBody({ background: c.background, options: optionLines(c.options), closes: formatLocal(c.closesAt, deps.quiet.timeZone), how: t.howToVote }) }),
    now,
    deps,
  );
  const [row] = await uow.tx.update(consultations).set({ status: 'open', openedAt: now, eligible, noticeId, updatedAt: now }).where(eq(consultations.id, id)).returning();
  // Opened by hand before its set time: that opening is void (its timer would find it open anyway).
  if (c.opensAt) await uow.timers.cancel({ kind: CONSULTATION_OPEN_TIMER, subjectId: id });
  await uow.timers.set({ kind: CONSULTATION_CLOSE_TIMER, subjectId: id, seq: 1, dueAt: c.closesAt });
  const remind = reminderAt(now, c.closesAt);
  if (remind.getTime() > now.getTime()) await uow.timers.set({ kind: CONSULTATION_REMIND_TIMER, subjectId: id, seq: 1, dueAt: remind });
  if (c.topicId) await adoptTopic(uow, c.topicId, c, now);
  await recordAudit(uow.tx, { actorId, action: 'consultation.open', subjectType: 'consultation', subjectId: id, details: { ...eligible } });
  return row!;
}

/**
 * 定时开始: the draft opens by itself at `opensAt` (a timer row, so the one timer sweep opens it
 * if its wake-up is lost), announced then as `openConsultation` announces. Setting it again moves
 * the time. Refused when that time has passed or the vote closes first.
 */
export async function scheduleOpening(uow: UnitOfWork, actorId: string, id: string, opensAt: Date, now: Date): Promise<ConsultationRow> {
  const c = await lockConsultation(uow.tx, id);
  if (c.status !== 'draft') throw new ConsultationError('status', { status: c.status });
  await mustReach(uow.tx, actorId, await scopesOf(uow.tx, id));
  const refused = openingRefusal(now, opensAt, c.closesAt);
  if (refused) throw new ConsultationError(refused);
  const [row] = await uow.tx.update(consultations).set({ opensAt, updatedAt: now }).where(eq(consultations.id, id)).returning();
  await uow.timers.set({ kind: CONSULTATION_OPEN_TIMER, subjectId: id, seq: 1, dueAt: opensAt, data: { by: actorId } satisfies z.infer<typeof openTimerData> });
  await recordAudit(uow.tx, { actorId, action: 'consultation.schedule_open', subjectType: 'consultation', subjectId: id, details: { opensAt: opensAt.toISOString() } });
  return row!;
}

/**
 * The opening timer fired: opens the draft as its scheduler (`by`), once. Idempotent: a vote no
 * longer a scheduled draft (opened by hand, fired before) is left alone. When the opening is
 * refused (the scheduler no longer reaches the area, closing time passed), it stays a draft
 * without a time and the scheduler is told why: a retry could not fix that.
 */
export async function openScheduled(uow: UnitOfWork, id: string, by: string, now: Date, deps: LifecycleDeps): Promise<'opened' | 'skipped' | 'refused'> {
  const [c] = await uow.tx.select().from(consultations).where(eq(consultations.id, id)).for('update');
  if (!c || c.status !== 'draft' || !c.opensAt) return 'skipped';
  try {
    await uow.savepoint((inner) => openConsultation(inner, by, id, now, deps));
  } catch (err) {
    if (!(err instanceof ConsultationError)) throw err;
    await uow.tx.update(consultations).set({ opensAt: null, updatedAt: now }).where(eq(consultations.id, id));
    await recordAudit(uow.tx, { actorId: null, action: 'consultation.open_refused', subjectType: 'consultation', subjectId: id, details: { by, reason: err.reason } });
    await uow.notify(by, (t) => ({ text: t.consultationStaff.openFailed({ title: c.title, reason: refusalText(t, err) }) }));
    return 'refused';
  }
  await uow.notify(by, (t) => ({ text: t.consultationStaff.openedOnTime({ title: c.title }) }));
  return 'opened';
}

/** The result as the rows say it now. */
export async function currentResult(db: Queryable, c: ConsultationRow): Promise<ConsultationResult> {
  const eligible = c.eligible ?? (await eligibleSnapshot(db, c.id, c.basis));
  const tally = await tallyOf(db, c.id, c.options.length);
  return { eligible, tally, decision: decide(c, eligibleFor(c.basis, eligible), tally) };
}

export type CloseOutcome = { closed: true; result: ConsultationResult } | { closed: false; again?: Date };

/**
 * 结束投票. By the timer (no actor): only once the closing time came; idempotent, so a timer
 * and the sweep may both fire. By staff: early only where the vote allows it, with a reason.
 */
export async function closeConsultation(uow: UnitOfWork, id: string, now: Date, by?: { actorId: string; reason?: string }): Promise<CloseOutcome> {
  const c = await lockConsultation(uow.tx, id);
  const when = mayClose(c, now);
  if (when === 'not_open') {
    if (by) throw new ConsultationError('status', { status: c.status });
    return { closed: false };
  }
  let reason: string | null = null;
  if (when !== 'due') {
    if (!by) return { closed: false, again: c.closesAt };
    if (when === 'not_allowed') throw new ConsultationError('early_close_not_allowed');
    reason = z.string().trim().min(2, 'a reason for closing early').max(200).parse(by.reason ?? '');
  }
  if (by) await mustReach(uow.tx, by.actorId, await scopesOf(uow.tx, id));
  // Under this lock no ballot can come any more: the rest go on the chain, then the count.
  await linkBallots(uow.tx, id, { wait: true });
  const result = await currentResult(uow.tx, c);
  await uow.tx.update(consultations).set({ status: 'closed', closedAt: now, closeReason: reason, result: result as never, updatedAt: now }).where(eq(consultations.id, id));
  await uow.timers.cancel({ kind: CONSULTATION_CLOSE_TIMER, subjectId: id });
  await uow.timers.cancel({ kind: CONSULTATION_REMIND_TIMER, subjectId: id });
  await recordAudit(uow.tx, { actorId: by?.actorId ?? null, action: reason ? 'consultation.close_early' : 'consultation.close', subjectType: 'consultation', subjectId: id, details: { ballots: result.tally.ballots, ...(reason && { reason }) } });
  await uow.notify(c.authorId, (t) => ({ text: `${t.consultations.closedForStaff({ title: c.title })}\n${explainResult(t, c, result)}` }));
  return { closed: true, result };
}

/** 公布结果: frozen from now on, announced to the voters as a 居务公开 notice. */
export async function publishConsultation(uow: UnitOfWork, actorId: string, id: string, now: Date, deps: LifecycleDeps): Promise<ConsultationResult> {
  const c = await lockConsultation(uow.tx, id);
  if (c.status === 'published') throw new ConsultationError('frozen');
  if (c.status !== 'closed') throw new ConsultationError('status', { status: c.status });
  await mustReach(uow.tx, actorId, await scopesOf(uow.tx, id));
  const result = await currentResult(uow.tx, c);
  // The result explained in one plain sentence per rule, in each voter's language (explain.ts).
  const resultNoticeId = await announce(uow, c, actorId, (m) => ({ title: m.consultations.resultTitle({ title: c.title }), body: `${explainResult(m, c, result)}\n${m.consultations.receiptHint}` }), now, deps);
  await uow.tx.update(consultations).set({ status: 'published', publishedAt: now, result: result as never, resultNoticeId, updatedAt: now }).where(eq(consultations.id, id));
  await recordAudit(uow.tx, { actorId, action: 'consultation.publish', subjectType: 'consultation', subjectId: id, details: { ballots: result.tally.ballots, passed: result.decision.passed } });
  return result;
}

/** Households per page of the reminder. */
const REMIND_PAGE = 500;

/** 投票提醒: one message to each eligible person who has not voted (nor their household, where it votes as one). */
export async function remindNonVoters(uow: UnitOfWork, id: string, now: Date, timeZone: string): Promise<number> {
  const [c] = await uow.tx.select().from(consultations).where(eq(consultations.id, id));
  if (!c || c.status !== 'open' || now.getTime() >= c.closesAt.getTime()) return 0;
  const spec = { scopeUnitIds: await scopesOf(uow.tx, id), groups: c.basis === 'owners' ? (['owners'] as const) : [] };
  let sent = 0;
  for await (const page of audiencePages(uow.tx, spec, REMIND_PAGE)) {
    if (page.members.length === 0) continue;
    const keys = [...new Set(page.members.map((m) => (c.basis === 'adults' ? `p:${m.personId}` : `h:${m.householdId}`)))];
    const voted = (await uow.tx.execute(sql`
      select voter_key from consultation_voters where consultation_id = ${id} and voter_key = any(${sql.param(keys)}::text[])
      union all select 'p:' || person_id from adult_declarations where not adult and person_id::text = any(${sql.param(page.members.map((m) => m.personId))}::text[])`)) as unknown as { voter_key: string }[];
    const skip = new Set(voted.map((r) => r.voter_key));
    const items = page.members
      .filter((m) => !skip.has(c.basis === 'adults' ? `p:${m.personId}` : `h:${m.householdId}`))
      .map((m) => ({
        to: { identityId: m.identityId, channel: m.channel, chatRef: m.chatRef },
        reply: { text: messages(m.locale).consultations.reminder({ title: c.title, closes: formatLocal(c.closesAt, timeZone), how: messages(m.locale).consultations.howToVote }), locale: m.locale },
        priority: 'broadcast' as const,
        dedupeKey: `cr:${id}:${m.personId}:${m.channel}`,
      }));
    if (items.length) sent += (await uow.queue(items)).length;
  }
  return sent;
}
