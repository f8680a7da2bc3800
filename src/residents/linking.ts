import { and, asc, count, eq, gt, isNull } from 'drizzle-orm';
import { cases, channelIdentities, linkCodes, noticeDeliveries, people } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Channel } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { loadPerson } from '../dialog/state.js';
import { codeKey } from '../secrets.js';
import { hashCode, randomCode } from '../staff/codes.js';

/** A link code is typed within minutes of asking for it; short life keeps a leaked one harmless. */
export const LINK_CODE_MINUTES = 15;

export class LinkCodeInvalid extends Error {}
export class LinkOwnCode extends Error {}
/** The joining account has a household, a staff role or cases of its own: merging would lose them. */
export class LinkHasOwnData extends Error {}

/** Issues a one-time code for `personId`; only its hash is stored (same scheme as staff codes). */
export async function issueLinkCode(tx: Tx, personId: string, key: string, now = new Date()): Promise<{ code: string; expiresAt: Date }> {
  const code = `L-${randomCode(2)}`;
  const expiresAt = new Date(now.getTime() + LINK_CODE_MINUTES * 60_000);
  await tx.insert(linkCodes).values({ codeHash: hashCode(code, key), personId, expiresAt });
  return { code, expiresAt };
}

/**
 * Moves the chat identity `identityId` (currently of `joining`) to the person who issued the
 * code. The joining person must be empty (just onboarded or not even that); once it has no chat
 * identity left it is deleted, so one human is one person row. The guarded UPDATE makes the code
 * single-use under concurrency.
 */
export async function redeemLinkCode(
  tx: Tx,
  joining: PersonView,
  identityId: string,
  typed: string,
  key: string,
  now = new Date(),
): Promise<{ personId: string }> {
  const [code] = await tx
    .select({ id: linkCodes.id, personId: linkCodes.personId })
    .from(linkCodes)
    .where(and(eq(linkCodes.codeHash, hashCode(typed, key)), isNull(linkCodes.usedAt), gt(linkCodes.expiresAt, now)));
  if (!code) throw new LinkCodeInvalid();
  if (code.personId === joining.id) throw new LinkOwnCode();
  const [reported] = await tx.select({ n: count() }).from(cases).where(eq(cases.reporterId, joining.id));
  if (joining.householdStatus !== 'none' || joining.staff.length > 0 || (reported?.n ?? 0) > 0) throw new LinkHasOwnData();
  const [target] = await tx.select({ id: people.id }).from(people).where(and(eq(people.id, code.personId), isNull(people.erasedAt)));
  if (!target) throw new LinkCodeInvalid();
  const used = await tx
    .update(linkCodes)
    .set({ usedAt: now, usedByIdentity: identityId })
    .where(and(eq(linkCodes.id, code.id), isNull(linkCodes.usedAt)))
    .returning({ id: linkCodes.id });
  if (!used.length) throw new LinkCodeInvalid();
  await tx.update(channelIdentities).set({ personId: target.id }).where(eq(channelIdentities.id, identityId));
  const [left] = await tx.select({ n: count() }).from(channelIdentities).where(eq(channelIdentities.personId, joining.id));
  // What the chat received as the joining person is now the target's (the person row may go next).
  await tx.update(noticeDeliveries).set({ personId: target.id }).where(eq(noticeDeliveries.identityId, identityId));
  if ((left?.n ?? 0) === 0) await tx.delete(people).where(eq(people.id, joining.id));
  return { personId: target.id };
}

async function attempt(ctx: FlowContext, typed: string): Promise<StepOutcome> {
  const t = ctx.t.linking;
  if (await ctx.attempts.blocked('link')) {
    ctx.reply({ text: t.tooManyAttempts });
    return { done: true, silent: true };
  }
  const joiningId = ctx.person.id;
  try {
    const { personId } = await redeemLinkCode(ctx.tx, ctx.person, ctx.identity.id, typed, codeKey(ctx.config), ctx.now);
    // From here on this message is handled as the person the chat now belongs to.
    Object.assign(ctx.person, await loadPerson(ctx.tx, personId));
    await ctx.audit('link.joined', 'channel_identity', ctx.identity.id, { from: joiningId });
    const channels = await ctx.tx
      .selectDistinct({ channel: channelIdentities.channel })
      .from(channelIdentities)
      .where(eq(channelIdentities.personId, personId))
      .orderBy(asc(channelIdentities.channel));
    ctx.reply({ text: t.linked({ channels: channels.map((c) => t[`channel_${c.channel as Channel}`]).join('、') }) });
    return { done: true };
  } catch (err) {
    if (err instanceof LinkOwnCode) {
      ctx.reply({ text: t.own });
      return { done: true };
    }
    if (err instanceof LinkHasOwnData) {
      ctx.reply({ text: t.hasOwnData });
      return { done: true, silent: true };
    }
    if (!(err instanceof LinkCodeInvalid)) throw err;
    await ctx.attempts.failed('link');
    await ctx.audit('link.failed', 'channel_identity', ctx.identity.id);
    ctx.reply({ text: t.invalid });
    return { next: 'code' };
  }
}

/**
 * 关联账号. `/link` in a chat the person already uses gives a code; `/link CODE` (or `/link`,
 * then the code) in the new chat joins it. Open before onboarding, so the new chat needn't
 * repeat language and consent: the person behind the code has given them.
 */
export const linkingFlow: Flow = {
  name: 'link',
  commands: { words: ['/link', '关联账号', '关联', '계정 연결', 'link'], takesArgument: true },
  menu: [{ id: 'menu.link', label: (t) => t.linking.menu, visible: (p) => p.consented, order: 90, section: 'settings' }],
  async start(ctx, args) {
    const argument = typeof args?.argument === 'string' ? args.argument.trim() : '';
    if (argument) return attempt(ctx, argument);
    if (!ctx.person.consented) {
      ctx.reply({ text: ctx.t.linking.askCode });
      return { next: 'code' };
    }
    const { code } = await issueLinkCode(ctx.tx, ctx.person.id, codeKey(ctx.config), ctx.now);
    await ctx.audit('link.code_issued', 'person', ctx.person.id);
    ctx.reply({ text: ctx.t.linking.issued({ code, minutes: LINK_CODE_MINUTES }) });
    return { done: true, silent: true };
  },
  steps: {
    async code(ctx, input) {
      if (input.kind !== 'text') {
        ctx.reply({ text: ctx.t.linking.askCode });
        return { next: 'code' };
      }
      return attempt(ctx, input.text);
    },
  },
};
