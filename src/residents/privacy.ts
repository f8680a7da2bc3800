import { and, count, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import {
  audienceMemberships,
  auditLog,
  caseEvents,
  caseFollowers,
  casePhotos,
  cases,
  channelIdentities,
  consents,
  dialogStates,
  householdClaims,
  inboundMessages,
  linkCodes,
  mutedTopics,
  noticeDeliveries,
  noticeReads,
  outbox,
  people,
  staffAssignments,
} from '../../db/schema/index.js';
import { messages } from '../i18n/index.js';
import { eraseActivityRecords } from '../activities/erasure.js';
import { eraseConsultationRecords } from '../consultations/erasure.js';
import { eraseVolunteerRecords } from '../volunteers/erasure.js';
import type { UnitOfWork } from '../work/unit.js';
import type { Flow, FlowContext } from '../dialog/flow.js';
import { LANGUAGE_NAMES } from '../i18n/onboarding.js';
import { localDate } from '../org/time.js';
import { placeLabel } from './household.js';
import { describeErased } from './traces.js';

/** 138****5678: phones are never shown in full in any view. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\s/g, '');
  // A mobile number (11 digits, or longer with +86) keeps 3 + 4 digits, the usual 138****5678;
  // anything shorter (landlines) would give away most digits that way, so only the last 2 show.
  if (digits.length >= 11) return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
  if (digits.length <= 6) return '*'.repeat(digits.length);
  return `${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`;
}

/** A platform account id shown as its channel and last 4 characters. */
export function maskRef(ref: string): string {
  return ref.length <= 4 ? '****' : `****${ref.slice(-4)}`;
}

async function summary(ctx: FlowContext): Promise<string> {
  const t = ctx.t.privacy;
  const [p] = await ctx.tx.select().from(people).where(eq(people.id, ctx.person.id));
  const identities = await ctx.tx
    .select({ channel: channelIdentities.channel, userRef: channelIdentities.userRef })
    .from(channelIdentities)
    .where(eq(channelIdentities.personId, ctx.person.id));
  const [consent] = await ctx.tx
    .select({ at: consents.grantedAt })
    .from(consents)
    .where(and(eq(consents.personId, ctx.person.id), isNull(consents.withdrawnAt)));
  const [reported] = await ctx.tx.select({ n: count() }).from(cases).where(eq(cases.reporterId, ctx.person.id));
  let household = t.none;
  if (p?.householdId) household = await placeLabel(ctx.tx, p.householdId);
  else if (p?.householdStatus === 'pending') household = t.pending;
  return t.summary({
    locale: LANGUAGE_NAMES[ctx.person.locale],
    channels: identities.map((i) => `${i.channel} ${maskRef(i.userRef)}`).join(', '),
    household,
    consent: consent ? localDate(consent.at) : t.none,
    phone: p?.phone ? maskPhone(p.phone) : t.none,
    staff: ctx.person.staff.length ? ctx.person.staff.map((s) => ctx.t.staff[`role_${s.role}`]).join(', ') : t.none,
    cases: reported?.n ?? 0,
  });
}

/**
 * 删除我的数据 (PIPL art. 47): everything that identifies the person is deleted or anonymised, table
 * by table; each module erases its own tables (src/activities/erasure.ts, src/volunteers/erasure.ts,
 * src/consultations/erasure.ts say how), in this transaction, with seats and slots they free
 * passed on as a cancellation would. Kept, because the record needs it: the emptied person row (so
 * foreign keys hold); the cases they reported with their number, category, timeline and photos but
 * no reporter, no description, place or comment; withdrawn consents (our legal basis); staff
 * assignments, ended; audit actions without their details; anonymous facts that totals are made
 * of (attendance of sessions held, volunteer hours, who took part in a vote, by home, never how).
 * Acts done in office keep pointing at the emptied row, which names nobody, so the community's
 * records still show one hand behind them: cases taken in or assigned (intake_staff_id,
 * assignee_id), notices, activities, volunteer tasks and consultations authored, hours
 * confirmed, rosters set up, claims decided, staff codes used, topics answered, proxies recorded,
 * audit rows. The chat the request came from is handed to a fresh, empty person so the next
 * message starts over, and a web session is ended outright.
 */
export async function erasePerson(uow: UnitOfWork, personId: string, keepIdentityId: string, now: Date, redactedText: string, settings: { timeZone: string }): Promise<void> {
  const tx = uow.tx;
  const identities = await tx.select({ id: channelIdentities.id, channel: channelIdentities.channel }).from(channelIdentities).where(eq(channelIdentities.personId, personId));
  const identityIds = identities.map((i) => i.id);
  // First, while their name and home are still on the row: the modules find them in text staff typed.
  const who = await describeErased(tx, personId);
  await eraseActivityRecords(uow, who, now, settings);
  await eraseVolunteerRecords(uow, who, now, redactedText, settings.timeZone);
  await eraseConsultationRecords(tx, who, now, redactedText);

  await tx.update(consents).set({ withdrawnAt: now }).where(and(eq(consents.personId, personId), isNull(consents.withdrawnAt)));
  await tx.delete(householdClaims).where(eq(householdClaims.personId, personId));
  await tx.update(staffAssignments).set({ active: false }).where(eq(staffAssignments.personId, personId));
  await tx.delete(linkCodes).where(eq(linkCodes.personId, personId));
  await tx.delete(caseFollowers).where(eq(caseFollowers.personId, personId));
  // Notices: which ones reached them and which they read, their muted topics and the groups kept
  // on them as a person (a household's facts stay with the household).
  await tx.delete(noticeDeliveries).where(or(eq(noticeDeliveries.personId, personId), identityIds.length ? inArray(noticeDeliveries.identityId, identityIds) : sql`false`));
  await tx.delete(noticeReads).where(eq(noticeReads.personId, personId));
  await tx.delete(mutedTopics).where(eq(mutedTopics.personId, personId));
  await tx.delete(audienceMemberships).where(eq(audienceMemberships.personId, personId));
  // A home's group they put it in themselves (source 'self') would say who lives there.
  await tx.update(audienceMemberships).set({ addedBy: null }).where(eq(audienceMemberships.addedBy, personId));

  // Cases: the record stays for the community, the person and their words go.
  const homes = who.householdId !== null ? [who.householdId] : [];
  await tx
    .update(cases)
    .set({
      reporterId: null,
      description: redactedText,
      ratingComment: sql`case when ${cases.ratingComment} is null then null else ${redactedText} end`,
      locationLabel: null,
      ...(homes.length ? { placeId: sql`case when ${cases.placeId} = ${homes[0]} then null else ${cases.placeId} end` } : {}),
      updatedAt: now,
    })
    .where(eq(cases.reporterId, personId));
  await tx.update(caseEvents).set({ actorId: null, reason: null, details: {} }).where(eq(caseEvents.actorId, personId));
  await tx.update(casePhotos).set({ addedBy: null }).where(eq(casePhotos.addedBy, personId));
  await tx
    .update(auditLog)
    .set({ details: {} })
    .where(or(eq(auditLog.actorId, personId), and(eq(auditLog.subjectType, 'person'), eq(auditLog.subjectId, personId))));

  // The conversation: every reply ever sent, where each chat was, which message came from whom.
  if (identityIds.length) {
    await tx.delete(outbox).where(inArray(outbox.identityId, identityIds));
    await tx.delete(dialogStates).where(inArray(dialogStates.identityId, identityIds));
    await tx.update(inboundMessages).set({ identityId: null }).where(inArray(inboundMessages.identityId, identityIds));
  }
  await tx.delete(channelIdentities).where(and(eq(channelIdentities.personId, personId), ne(channelIdentities.id, keepIdentityId)));
  const [fresh] = await tx.insert(people).values({}).returning({ id: people.id });
  const kept = identities.find((i) => i.id === keepIdentityId);
  await tx
    .update(channelIdentities)
    .set({ personId: fresh!.id, ...(kept?.channel === 'web' ? { endedAt: now } : {}) })
    .where(eq(channelIdentities.id, keepIdentityId));
  await tx
    .update(people)
    .set({ displayName: null, phone: null, householdId: null, householdStatus: 'none', erasedAt: now })
    .where(eq(people.id, personId));
}

/** /mydata: what we hold, and erasure on request. */
export const privacyFlow: Flow = {
  name: 'privacy',
  commands: { words: ['/mydata', '我的数据', '내 정보', 'my data', 'mydata'] },
  menu: [{ id: 'menu.mydata', label: (t) => t.privacy.menu, visible: (p) => p.consented, order: 95, section: 'settings' }],
  async start(ctx) {
    const t = ctx.t.privacy;
    await ctx.audit('privacy.view_own', 'person', ctx.person.id);
    ctx.reply({
      text: await summary(ctx),
      choices: [
        { id: 'privacy.delete', label: t.delete },
        { id: 'privacy.keep', label: t.keep },
      ],
    });
    return { next: 'show' };
  },
  steps: {
    async show(ctx, input) {
      const t = ctx.t.privacy;
      if (input.kind === 'choice' && input.choice === 'privacy.delete') {
        ctx.reply({
          text: t.confirmDelete,
          choices: [
            { id: 'privacy.confirm', label: t.confirmYes },
            { id: 'privacy.keep', label: t.keep },
          ],
        });
        return { next: 'confirm' };
      }
      return { done: true };
    },
    async confirm(ctx, input) {
      if (input.kind === 'choice' && input.choice === 'privacy.confirm') {
        await ctx.audit('privacy.erase', 'person', ctx.person.id);
        await erasePerson(ctx.uow, ctx.person.id, ctx.identity.id, ctx.now, messages(ctx.config.defaultLocale).privacy.redacted, { timeZone: ctx.config.notices.timeZone });
        ctx.reply({ text: ctx.t.privacy.deleted });
        return { done: true, silent: true };
      }
      return { done: true };
    },
  },
};
