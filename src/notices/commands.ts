import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { noticeReads, noticeScopes, notices } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { AUDIENCE_GROUPS } from '../audience/groups.js';
import type { AudienceSpec } from '../audience/audience.js';
import { checkAudienceScopes, MAX_SCOPES, type AudienceScopeRefusal } from '../audience/scopes.js';
import { LOCALES, type Locale } from '../config.js';
import { PHOTO_KEY_PATTERN } from '../photos/store.js';
import { checkScopes } from '../staff/scope.js';
import { deliverFrom, isUrgent, LIMITS, NOTICE_CATEGORIES, NOTICE_TRANSITIONS, topicOf, type NoticeCategory, type NoticeStatus, type QuietHours } from './rules.js';

/** 通知公告 commands: each takes a transaction, checks who may do it, audits, and says what happened. */

export type NoticeRow = typeof notices.$inferSelect;

export type NoticeErrorReason = AudienceScopeRefusal | 'not_found' | 'status' | 'in_past';

/** A refusal the person can act on (mapped to their language at the edge). */
export class NoticeError extends Error {
  constructor(
    readonly reason: NoticeErrorReason,
    readonly detail: { status?: NoticeStatus; unitId?: number } = {},
  ) {
    super(`notice refused: ${reason}`);
  }
}

export const noticeDraftSchema = z.object({
  title: z.string().trim().min(2).max(LIMITS.title),
  body: z.string().trim().min(2).max(LIMITS.body),
  photoKey: z.string().regex(PHOTO_KEY_PATTERN).optional(),
  category: z.enum(NOTICE_CATEGORIES),
  scopeUnitIds: z.array(z.number().int().positive()).min(1).max(MAX_SCOPES),
  groups: z.array(z.enum(AUDIENCE_GROUPS)).max(AUDIENCE_GROUPS.length).default([]),
  /** Send at this time; omitted = on confirmation. */
  sendAt: z.coerce.date().optional(),
  /** The same notice in other languages (written by the system, not staff: db/schema/notices.ts). */
  texts: z.partialRecord(z.enum(LOCALES), z.object({ title: z.string().trim().min(2).max(LIMITS.title), body: z.string().trim().min(2).max(LIMITS.body) }).strict()).optional(),
});

/** A notice's title and body in one language: its own text there, else the one it was written in. */
export function noticeTextIn(n: Pick<NoticeRow, 'title' | 'body' | 'texts'>, locale: Locale): { title: string; body: string } {
  return n.texts?.[locale] ?? { title: n.title, body: n.body };
}
export type NoticeDraft = z.input<typeof noticeDraftSchema>;

/** The audience of a notice's first wave: its scopes and groups; 应急 ignores muted topics. */
export function audienceOf(n: Pick<NoticeRow, 'category' | 'groups'>, scopeUnitIds: readonly number[]): AudienceSpec {
  return { scopeUnitIds, groups: n.groups, topic: isUrgent(n.category) ? undefined : topicOf(n.category) };
}

async function mustReach(db: Queryable, actorId: string, unitIds: readonly number[]): Promise<void> {
  const decision = await checkScopes(db, actorId, unitIds);
  if (!decision.ok) throw new NoticeError(decision.reason, { unitId: decision.unitId });
}

/** 起草: a draft addressed to units the author may reach (staff scope), nothing sent yet. */
export async function createNotice(tx: Tx, authorId: string, input: NoticeDraft, now: Date): Promise<NoticeRow> {
  const draft = noticeDraftSchema.parse(input);
  const scopes = await checkAudienceScopes(tx, authorId, draft.scopeUnitIds);
  if (!scopes.ok) throw new NoticeError(scopes.reason, { unitId: scopes.unitId });
  const { unitIds } = scopes;
  if (draft.sendAt && draft.sendAt.getTime() <= now.getTime()) throw new NoticeError('in_past');
  const [row] = await tx
    .insert(notices)
    .values({
      authorId,
      title: draft.title,
      body: draft.body,
      photoKey: draft.photoKey ?? null,
      category: draft.category,
      groups: [...new Set(draft.groups)],
      sendAt: draft.sendAt ?? null,
      texts: draft.texts ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await tx.insert(noticeScopes).values(unitIds.map((orgUnitId) => ({ noticeId: row!.id, orgUnitId })));
  await recordAudit(tx, { actorId: authorId, action: 'notice.create', subjectType: 'notice', subjectId: row!.id, details: { category: draft.category, scopes: unitIds } });
  return row!;
}

export async function scopesOf(db: Queryable, noticeId: string): Promise<number[]> {
  const rows = await db.select({ id: noticeScopes.orgUnitId }).from(noticeScopes).where(eq(noticeScopes.noticeId, noticeId));
  return rows.map((r) => r.id);
}

/** Locks the notice row for a change; NoticeError when it is missing or its status forbids `what`. */
async function lockNotice(tx: Tx, noticeId: string, what: keyof typeof NOTICE_TRANSITIONS): Promise<NoticeRow> {
  const [row] = await tx.select().from(notices).where(eq(notices.id, noticeId)).for('update');
  if (!row) throw new NoticeError('not_found');
  if (!NOTICE_TRANSITIONS[what].includes(row.status)) throw new NoticeError('status', { status: row.status });
  return row;
}

/** What a command asks of the job system once it has committed. */
export type NoticeFollowUp =
  | { kind: 'fan_out'; noticeId: string; wave: number; priority: 'emergency' | 'broadcast' }
  | { kind: 'release_at'; noticeId: string; at: Date }
  | { kind: 'none' };

/**
 * 确认发送: a draft goes out now (sending, with the not-before of quiet hours) or waits for its
 * time (scheduled). The actor must still reach every scope: a draft does not outlive a transfer.
 */
export async function confirmNotice(tx: Tx, actorId: string, noticeId: string, now: Date, quiet: { hours: QuietHours; timeZone: string }): Promise<NoticeFollowUp> {
  const row = await lockNotice(tx, noticeId, 'send');
  await mustReach(tx, actorId, await scopesOf(tx, noticeId));
  await recordAudit(tx, { actorId, action: 'notice.confirm', subjectType: 'notice', subjectId: noticeId });
  if (row.sendAt && row.sendAt.getTime() > now.getTime()) {
    await tx.update(notices).set({ status: 'scheduled', updatedAt: now }).where(eq(notices.id, noticeId));
    return { kind: 'release_at', noticeId, at: row.sendAt };
  }
  return release(tx, row, now, quiet);
}

async function release(tx: Tx, row: NoticeRow, now: Date, quiet: { hours: QuietHours; timeZone: string }): Promise<NoticeFollowUp> {
  const from = deliverFrom(now, row.category, quiet.hours, quiet.timeZone);
  await tx.update(notices).set({ status: 'sending', releasedAt: now, deliverFrom: from, updatedAt: now }).where(eq(notices.id, row.id));
  return { kind: 'fan_out', noticeId: row.id, wave: 0, priority: isUrgent(row.category) ? 'emergency' : 'broadcast' };
}

/**
 * 定时发送 fires: a scheduled notice is released. Idempotent: a notice no longer scheduled (sent
 * already, withdrawn) is left alone, so a timer and the sweep may both fire.
 */
export async function releaseScheduled(tx: Tx, noticeId: string, now: Date, quiet: { hours: QuietHours; timeZone: string }): Promise<NoticeFollowUp> {
  const [row] = await tx.select().from(notices).where(eq(notices.id, noticeId)).for('update');
  if (!row || row.status !== 'scheduled') return { kind: 'none' };
  if (row.sendAt && row.sendAt.getTime() > now.getTime()) return { kind: 'release_at', noticeId, at: row.sendAt };
  return release(tx, row, now, quiet);
}

/** 更正: a correction to everyone who got the notice (wave = its revision number). */
export async function correctNotice(tx: Tx, actorId: string, noticeId: string, text: string, now: Date): Promise<NoticeFollowUp> {
  const correction = z.string().trim().min(2).max(LIMITS.correction).parse(text);
  const row = await lockNotice(tx, noticeId, 'correct');
  await mustReach(tx, actorId, await scopesOf(tx, noticeId));
  const revision = row.revision + 1;
  await tx.update(notices).set({ status: 'corrected', correction, revision, fanoutDoneAt: null, updatedAt: now }).where(eq(notices.id, noticeId));
  await recordAudit(tx, { actorId, action: 'notice.correct', subjectType: 'notice', subjectId: noticeId, details: { revision } });
  return { kind: 'fan_out', noticeId, wave: revision, priority: isUrgent(row.category) ? 'emergency' : 'broadcast' };
}

/** Wave number of a withdrawal's messages. */
export const WITHDRAWAL_WAVE = -1;

/** The wave a notice's latest change asks to send: its withdrawal, its latest correction, or itself. */
export const currentWave = (n: Pick<NoticeRow, 'status' | 'revision'>) => (n.status === 'withdrawn' ? WITHDRAWAL_WAVE : n.revision);

/** 撤回: a withdrawal notice to everyone who got it; a scheduled notice that never went out just stops. */
export async function withdrawNotice(tx: Tx, actorId: string, noticeId: string, reason: string, now: Date): Promise<NoticeFollowUp> {
  const why = z.string().trim().min(2).max(LIMITS.reason).parse(reason);
  const row = await lockNotice(tx, noticeId, 'withdraw');
  await mustReach(tx, actorId, await scopesOf(tx, noticeId));
  await tx.update(notices).set({ status: 'withdrawn', withdrawnAt: now, withdrawReason: why, fanoutDoneAt: null, updatedAt: now }).where(eq(notices.id, noticeId));
  await recordAudit(tx, { actorId, action: 'notice.withdraw', subjectType: 'notice', subjectId: noticeId });
  if (row.status === 'scheduled') return { kind: 'none' };
  return { kind: 'fan_out', noticeId, wave: WITHDRAWAL_WAVE, priority: isUrgent(row.category) ? 'emergency' : 'broadcast' };
}

/**
 * 收到: a person read a notice. Counted once per person (the first way they confirmed it);
 * only a notice that was sent to them counts. Returns false when it was not theirs to read.
 */
export async function recordRead(tx: Tx, noticeId: string, personId: string, via: 'button' | 'reply' | 'web', now: Date): Promise<boolean> {
  const [got] = (await tx.execute(
    sql`select 1 from notice_deliveries where notice_id = ${noticeId} and person_id = ${personId} and wave = 0 limit 1`,
  )) as unknown as unknown[];
  if (!got) return false;
  await tx.insert(noticeReads).values({ noticeId, personId, via, readAt: now }).onConflictDoNothing();
  return true;
}

/** The latest notice sent to a person that they have not confirmed (a typed 收到 answers it). */
export async function latestUnread(db: Queryable, personId: string): Promise<string | undefined> {
  const [row] = (await db.execute(sql`
    select d.notice_id as id from notice_deliveries d join notices n on n.id = d.notice_id
    where d.person_id = ${personId} and d.wave = 0 and n.status <> 'withdrawn'
      and not exists (select 1 from notice_reads r where r.notice_id = d.notice_id and r.person_id = d.person_id)
    order by d.created_at desc limit 1`)) as unknown as { id: string }[];
  return row?.id;
}

export async function getNotice(db: Queryable, noticeId: string): Promise<NoticeRow | undefined> {
  const [row] = await db.select().from(notices).where(and(eq(notices.id, noticeId)));
  return row;
}

export type { NoticeCategory };
