import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { consultationTopics, topicComments, topicSupports } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { ancestorOfKind, getUnit } from '../org/tree.js';
import type { UnitOfWork } from '../work/unit.js';
import { ConsultationError, mustReach } from './commands.js';

/**
 * 议题征集: residents of a community propose topics, support them (once per person) and comment;
 * staff see them ranked by support, answer or decline them, or turn one into a vote, and the
 * proposer hears what became of theirs.
 */

export type TopicRow = typeof consultationTopics.$inferSelect;

export const topicTitle = z.string().trim().min(2).max(60);
export const topicBody = z.string().trim().min(2).max(500);
export const commentBody = z.string().trim().min(2).max(300);

/** The community a household lies in. */
export async function communityOf(db: Queryable, householdId: number): Promise<number | undefined> {
  const home = await getUnit(db, householdId);
  return home ? (await ancestorOfKind(db, home, 'community'))?.id : undefined;
}

export async function proposeTopic(tx: Tx, personId: string, householdId: number, input: { title: string; body: string }, now: Date): Promise<TopicRow> {
  const communityId = await communityOf(tx, householdId);
  if (!communityId) throw new ConsultationError('not_in_scope');
  const [row] = await tx
    .insert(consultationTopics)
    .values({ communityId, authorId: personId, title: topicTitle.parse(input.title), body: topicBody.parse(input.body), createdAt: now, updatedAt: now })
    .returning();
  return row!;
}

/** 支持: once per person (the primary key); false when they already did. Only in their own community. */
export async function supportTopic(tx: Tx, topicId: number, personId: string, householdId: number, now: Date): Promise<boolean> {
  const topic = await getTopic(tx, topicId);
  if (!topic || topic.communityId !== (await communityOf(tx, householdId))) throw new ConsultationError('not_found');
  const added = await tx.insert(topicSupports).values({ topicId, personId, at: now }).onConflictDoNothing().returning({ topicId: topicSupports.topicId });
  if (added.length === 0) return false;
  await tx.update(consultationTopics).set({ supports: sql`${consultationTopics.supports} + 1` }).where(eq(consultationTopics.id, topicId));
  return true;
}

export async function commentOnTopic(tx: Tx, topicId: number, personId: string, householdId: number, body: string, now: Date): Promise<void> {
  const topic = await getTopic(tx, topicId);
  if (!topic || topic.communityId !== (await communityOf(tx, householdId))) throw new ConsultationError('not_found');
  await tx.insert(topicComments).values({ topicId, personId, body: commentBody.parse(body), createdAt: now });
}

export async function getTopic(db: Queryable, topicId: number): Promise<TopicRow | undefined> {
  const [row] = await db.select().from(consultationTopics).where(eq(consultationTopics.id, topicId));
  return row;
}

/** Topics of a community, most supported first (open ones before answered ones). */
export async function rankedTopics(db: Queryable, communityId: number, limit = 10): Promise<TopicRow[]> {
  return db
    .select()
    .from(consultationTopics)
    .where(eq(consultationTopics.communityId, communityId))
    .orderBy(sql`${consultationTopics.status} = 'open' desc`, desc(consultationTopics.supports), desc(consultationTopics.id))
    .limit(limit);
}

export async function recentComments(db: Queryable, topicId: number, limit = 3): Promise<string[]> {
  const rows = await db.select({ body: topicComments.body }).from(topicComments).where(eq(topicComments.topicId, topicId)).orderBy(desc(topicComments.id)).limit(limit);
  return rows.map((r) => r.body);
}

/** 答复 or 暂不采纳: staff answer a topic or decline it, with their reason; the proposer is told which. */
export async function answerTopic(uow: UnitOfWork, actorId: string, topicId: number, answer: string, outcome: 'answered' | 'declined', now: Date): Promise<void> {
  const topic = await getTopic(uow.tx, topicId);
  if (!topic) throw new ConsultationError('not_found');
  await mustReach(uow.tx, actorId, [topic.communityId]);
  const text = z.string().trim().min(2).max(300).parse(answer);
  await uow.tx.update(consultationTopics).set({ status: outcome, answer: text, answeredBy: actorId, updatedAt: now }).where(eq(consultationTopics.id, topicId));
  await recordAudit(uow.tx, { actorId, action: `topic.${outcome}`, subjectType: 'topic', subjectId: String(topicId) });
  if (!topic.authorId) return;
  const said = outcome === 'declined' ? 'topicOutcomeDeclined' : 'topicOutcomeAnswered';
  await uow.notify(topic.authorId, (t) => ({ text: t.consultations.topicOutcome({ title: topic.title, outcome: t.consultations[said]({ answer: text }) }) }));
}

/** A topic became a vote (the consultation opened): marked adopted, the proposer told. */
export async function adoptTopic(uow: UnitOfWork, topicId: number, consultation: { id: string; title: string }, now: Date): Promise<void> {
  const [topic] = await uow.tx
    .update(consultationTopics)
    .set({ status: 'adopted', consultationId: consultation.id, updatedAt: now })
    .where(and(eq(consultationTopics.id, topicId)))
    .returning();
  if (topic?.authorId) await uow.notify(topic.authorId, (t) => ({ text: t.consultations.topicOutcome({ title: topic.title, outcome: t.consultations.topicOutcomeAdopted({ vote: consultation.title }) }) }));
}
