import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { orgUnits } from '../../db/schema/index.js';
import type { FlowContext, Say, StepHandler, StepOutcome } from '../dialog/flow.js';
import { childUnits, getUnit, unitsUnder, type OrgUnit } from '../org/tree.js';
import { codeKey } from '../secrets.js';
import {
  ClaimAlreadyPending,
  InviteInvalid,
  claimApprovers,
  fileClaim,
  placeLabel,
  redeemInvite,
} from './household.js';

/**
 * The household-binding steps shared by onboarding and the "bind my household" menu entry:
 * invite code, or street → community → building → unit → room, then a claim staff confirm.
 */

export const PAGE_SIZE = 15;
export const CLAIM_APPROVE = 'hca';
export const CLAIM_REJECT = 'hcr';

export function bindingOptions(ctx: FlowContext): Say {
  const t = ctx.t.onboarding;
  return {
    text: t.consentThanks,
    choices: [
      { id: 'bind.invite', label: t.bindInvite },
      { id: 'bind.find', label: t.bindFind },
      { id: 'bind.skip', label: t.bindSkip },
    ],
  };
}

/** One page of choices, with "more" when the list goes on (Telegram keyboards and WeChat lists stay short). */
export function pageOf(units: OrgUnit[], page: number, moreLabel: string): Say['choices'] {
  const slice = units.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map((u) => ({ id: `unit.${u.id}`, label: u.name }));
  if (units.length > (page + 1) * PAGE_SIZE) slice.push({ id: `more.${page + 1}`, label: moreLabel });
  return slice;
}

const PROMPT_BY_KIND = {
  county: 'pickStreet',
  street: 'pickStreet',
  community: 'pickCommunity',
  grid: 'pickGrid',
  building: 'pickBuilding',
  unit: 'pickUnit',
  household: 'pickHousehold',
} as const satisfies Record<OrgUnit['kind'], string>;

/** What a resident picks below `parent`: buildings directly under a community (grids are the staff's business). */
async function optionsBelow(ctx: FlowContext, parentId: number | null): Promise<OrgUnit[]> {
  if (parentId === null) return ctx.tx.select().from(orgUnits).where(eq(orgUnits.kind, 'street')).orderBy(orgUnits.code);
  const parent = await getUnit(ctx.tx, parentId);
  if (!parent) return [];
  if (parent.kind === 'community') return unitsUnder(ctx.tx, parent, 'building');
  return childUnits(ctx.tx, parentId);
}

async function showLevel(ctx: FlowContext, parentId: number | null, page: number): Promise<StepOutcome> {
  const t = ctx.t.onboarding;
  const units = await optionsBelow(ctx, parentId);
  if (units.length === 0) {
    ctx.reply({ text: t.nothingHere });
    return { next: 'pick', data: { parentId, page: 0 } };
  }
  ctx.reply({ text: t[PROMPT_BY_KIND[units[0]!.kind]], choices: pageOf(units, page, t.more) });
  return { next: 'pick', data: { parentId, page } };
}

const pickData = z.object({ parentId: z.number().int().nullable(), page: z.number().int().min(0) });

export const bindingSteps: Record<string, StepHandler> = {
  async bind(ctx, input) {
    const t = ctx.t.onboarding;
    const choice = input.kind === 'choice' ? input.choice : '';
    if (choice === 'bind.invite') {
      ctx.reply({ text: t.askInvite });
      return { next: 'invite' };
    }
    if (choice === 'bind.find') return showLevel(ctx, null, 0);
    if (choice === 'bind.skip') {
      ctx.reply({ text: t.skipped });
      return { done: true };
    }
    ctx.reply({ ...bindingOptions(ctx), text: t.pickFromList });
    return { next: 'bind' };
  },

  async invite(ctx, input) {
    const t = ctx.t.onboarding;
    if (input.kind !== 'text') {
      ctx.reply({ text: t.askInvite });
      return { next: 'invite' };
    }
    if (await ctx.attempts.blocked('invite')) {
      ctx.reply({ text: ctx.t.staff.tooManyAttempts });
      return { done: true, silent: true };
    }
    try {
      const { householdId } = await redeemInvite(ctx.tx, ctx.person.id, input.text, codeKey(ctx.config), ctx.now);
      ctx.person.householdId = householdId;
      ctx.person.householdStatus = 'bound';
      await ctx.audit('household.bind_invite', 'household', String(householdId));
      ctx.reply({ text: t.bound({ place: await placeLabel(ctx.tx, householdId) }) });
      return { done: true };
    } catch (err) {
      if (!(err instanceof InviteInvalid)) throw err;
      await ctx.attempts.failed('invite');
      await ctx.audit('household.invite_failed', 'person', ctx.person.id);
      ctx.reply({ text: t.inviteInvalid });
      return { next: 'invite' };
    }
  },

  async pick(ctx, input, raw) {
    const t = ctx.t.onboarding;
    const data = pickData.parse(raw);
    const choice = input.kind === 'choice' ? input.choice : '';
    const more = /^more\.(\d+)$/.exec(choice);
    if (more) return showLevel(ctx, data.parentId, Number(more[1]));
    const picked = /^unit\.(\d+)$/.exec(choice);
    const unit = picked ? await getUnit(ctx.tx, Number(picked[1])) : undefined;
    const offered = await optionsBelow(ctx, data.parentId);
    if (!unit || !offered.some((u) => u.id === unit.id)) {
      ctx.reply({ text: t.pickFromList, choices: pageOf(offered, data.page, t.more) });
      return { next: 'pick', data };
    }
    if (unit.kind !== 'household') return showLevel(ctx, unit.id, 0);
    if (ctx.person.householdStatus === 'pending') {
      ctx.reply({ text: t.claimAlreadyPending });
      return { done: true };
    }
    try {
      const { claimId, household } = await fileClaim(ctx.tx, ctx.person.id, unit.id);
      ctx.person.householdStatus = 'pending';
      const place = await placeLabel(ctx.tx, unit.id);
      for (const staffId of await claimApprovers(ctx.tx, household)) {
        await ctx.notify(staffId, (st) => ({
          text: st.onboarding.claimForStaff({ place }),
          choices: [
            { id: `${CLAIM_APPROVE}:${claimId}`, label: st.onboarding.approve },
            { id: `${CLAIM_REJECT}:${claimId}`, label: st.onboarding.reject },
          ],
        }));
      }
      ctx.reply({ text: t.claimPending({ place }) });
    } catch (err) {
      if (!(err instanceof ClaimAlreadyPending)) throw err;
      ctx.reply({ text: t.claimAlreadyPending });
    }
    return { done: true };
  },
};
