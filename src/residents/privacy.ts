import { and, count, eq, isNull, ne } from 'drizzle-orm';
import { cases, channelIdentities, consents, householdClaims, people, staffAssignments } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Flow, FlowContext } from '../dialog/flow.js';
import { LANGUAGE_NAMES } from '../i18n/onboarding.js';
import { localDate } from '../org/time.js';
import { placeLabel } from './household.js';

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
 * 删除我的数据: the person row is emptied and kept (cases stay, anonymised, so they can be finished),
 * consents withdrawn, claims cancelled, staff roles ended, other chat accounts removed; the chat the
 * request came from is handed to a fresh, empty person so the next message starts over.
 */
export async function erasePerson(tx: Tx, personId: string, keepIdentityId: string, now = new Date()): Promise<void> {
  await tx.update(consents).set({ withdrawnAt: now }).where(and(eq(consents.personId, personId), isNull(consents.withdrawnAt)));
  await tx
    .update(householdClaims)
    .set({ status: 'cancelled', decidedAt: now })
    .where(and(eq(householdClaims.personId, personId), eq(householdClaims.status, 'pending')));
  await tx.update(staffAssignments).set({ active: false }).where(eq(staffAssignments.personId, personId));
  await tx
    .delete(channelIdentities)
    .where(and(eq(channelIdentities.personId, personId), ne(channelIdentities.id, keepIdentityId)));
  const [fresh] = await tx.insert(people).values({}).returning({ id: people.id });
  await tx.update(channelIdentities).set({ personId: fresh!.id }).where(eq(channelIdentities.id, keepIdentityId));
  await tx
    .update(people)
    .set({ displayName: null, phone: null, householdId: null, householdStatus: 'none', erasedAt: now })
    .where(eq(people.id, personId));
}

/** /mydata: what we hold, and erasure on request. */
export const privacyFlow: Flow = {
  name: 'privacy',
  commands: { words: ['/mydata', '我的数据', '내 정보', 'my data', 'mydata'] },
  menu: [{ id: 'menu.mydata', label: (t) => t.privacy.menu, visible: (p) => p.consented, order: 95 }],
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
        await erasePerson(ctx.tx, ctx.person.id, ctx.identity.id, ctx.now);
        ctx.reply({ text: ctx.t.privacy.deleted });
        return { done: true, silent: true };
      }
      return { done: true };
    },
  },
};
