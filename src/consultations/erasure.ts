import { eq, or, sql } from 'drizzle-orm';
import { adultDeclarations, consultationProxies, consultationTopics, consultationVoters, topicComments } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { mentionsPhoneSql, namedIn, type ErasedPerson } from '../residents/traces.js';

/**
 * 删除我的数据, the consultations' part (called by erasePerson, src/residents/privacy.ts).
 * - The ballot log is not touched: a ballot carries only the voter's HMAC token (no person), so
 *   the hash chain, receipts and tally stay exactly as they were. Secrecy does not weaken: nothing
 *   new is stored, and a secret consultation's voter rows still carry no token.
 * - Who took part (consultation_voters): the person goes from their rows. An adult's row
 *   (`p:<person>`) gets a random voter key and loses its token, so no published list of an open
 *   ballot can put their home's name next to their choices; the row stays, with its household
 *   and weight, so turnout by building still adds up. A household's row (`h:<home>`) is the
 *   home's vote and keeps its key and token, so the household can still change it.
 * - 年满18周岁 declarations are deleted.
 * - 议题征集: topics they proposed lose their author and body (the title stays as the community's
 *   agenda, which a consultation may have been made from); comments lose author and text.
 *   Supports are deleted and each topic's `supports` lowered in the same statement: the counter
 *   is defined as the number of support rows (supportTopic only ever adds one with its row), so
 *   lowering it keeps the two equal, and the support of someone erased no longer counts.
 * - 委托投票: the grantor or proxy named by their phone, or by their name on a proxy for their own
 *   home, is redacted; the document reference (where the signed paper is kept) stays.
 * Kept, as acts in office pointing at the emptied person row: consultations they authored
 * (`author_id`), topics they answered (`answered_by`), proxies they recorded (`recorded_by`).
 */
export async function eraseConsultationRecords(tx: Tx, who: ErasedPerson, now: Date, redactedText: string): Promise<void> {
  await tx.delete(adultDeclarations).where(eq(adultDeclarations.personId, who.id));
  const adultKey = `p:${who.id}`;
  await tx
    .update(consultationVoters)
    .set({
      personId: null,
      voterKey: sql`case when ${consultationVoters.voterKey} = ${adultKey} then 'erased:' || gen_random_uuid()::text else ${consultationVoters.voterKey} end`,
      voterToken: sql`case when ${consultationVoters.voterKey} = ${adultKey} then null else ${consultationVoters.voterToken} end`,
    })
    .where(or(eq(consultationVoters.personId, who.id), eq(consultationVoters.voterKey, adultKey)));

  await tx.update(consultationTopics).set({ authorId: null, body: redactedText, updatedAt: now }).where(eq(consultationTopics.authorId, who.id));
  await tx.update(topicComments).set({ personId: null, body: redactedText }).where(eq(topicComments.personId, who.id));
  await tx.execute(sql`
    with gone as (delete from topic_supports where person_id = ${who.id} returning topic_id)
    update consultation_topics t set supports = t.supports - 1 from gone where t.id = gone.topic_id`);

  const proxies = await tx
    .select({ id: consultationProxies.id, householdId: consultationProxies.householdId, grantor: consultationProxies.grantor, proxy: consultationProxies.proxy })
    .from(consultationProxies)
    .where(
      or(
        who.householdId === null ? sql`false` : eq(consultationProxies.householdId, who.householdId),
        mentionsPhoneSql(sql`${consultationProxies.grantor} || ' ' || ${consultationProxies.proxy}`, who.phone),
      ),
    );
  for (const p of proxies) {
    const own = { name: p.householdId === who.householdId, home: false };
    const grantor = namedIn(p.grantor, who, own);
    const proxy = namedIn(p.proxy, who, own);
    if (grantor || proxy) await tx.update(consultationProxies).set({ ...(grantor ? { grantor: redactedText } : {}), ...(proxy ? { proxy: redactedText } : {}) }).where(eq(consultationProxies.id, p.id));
  }
}
