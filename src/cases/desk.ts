import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import { ancestorOfKind, findUnitByCode, getUnit, isWithin } from '../org/tree.js';
import { codeKey } from '../secrets.js';
import { hashCode, randomCode } from '../staff/codes.js';
import { claimFollowCode, FollowCodeInvalid, submitCase } from './intake.js';
import { chosenCategory, offerCategories, readDescription } from './input.js';
import { flowEffects, type CaseScheduler } from './run.js';

/** Staff who sit at the community service desk (一窗受理) or take calls. */
const DESK_ROLES = new Set(['grid_worker', 'community_secretary', 'community_director', 'subcommittee_member', 'building_head']);

/**
 * 一窗受理: desk staff log a walk-in or phone-in case in chat and hand the resident a one-time
 * follow code; the resident sends `/follow CODE` on any channel and follows it like their own.
 * The staff member's unit is the first to receive it and stays responsible (首接负责制).
 */
export function createDeskFlows(deps: { scheduler: CaseScheduler }): Flow[] {
  /** The staff member's unit that contains `unitPath`, or their own community when none is given. */
  async function scopeOf(ctx: FlowContext) {
    const units = [];
    for (const s of ctx.person.staff.filter((s) => DESK_ROLES.has(s.role))) {
      const unit = await getUnit(ctx.tx, s.orgUnitId);
      if (unit) units.push(unit);
    }
    return units;
  }

  async function askCategory(ctx: FlowContext, data: Record<string, unknown>): Promise<StepOutcome> {
    return (await offerCategories(ctx, Number(data.communityId), 'dc')) ? { next: 'category', data } : { done: true };
  }

  const desk: Flow = {
    name: 'desk',
    menu: [{ id: 'menu.desk', label: (t) => t.cases.menuDesk, visible: (p) => p.staff.some((s) => DESK_ROLES.has(s.role)), order: 6 }],
    commands: { words: ['/desk', '代登记', '一窗受理'] },
    async start(ctx) {
      if (!(await scopeOf(ctx)).length) {
        ctx.reply({ text: ctx.t.cases.notYours });
        return { done: true };
      }
      ctx.reply({ text: ctx.t.cases.askHousehold });
      return { next: 'household' };
    },
    steps: {
      async household(ctx, input) {
        const t = ctx.t.cases;
        const typed = input.kind === 'text' ? input.text.trim() : '';
        const scopes = await scopeOf(ctx);
        if (typed && [t.deskNone, '无', 'none', '없음'].includes(typed.toLowerCase())) {
          // No household: the desk's own community takes it.
          const community = scopes[0] ? await ancestorOfKind(ctx.tx, scopes[0], 'community') : undefined;
          if (!community) {
            ctx.reply({ text: t.householdUnknown });
            return { next: 'household' };
          }
          return askCategory(ctx, { communityId: community.id, householdId: null });
        }
        const household = typed ? await findUnitByCode(ctx.tx, typed.toUpperCase()) : undefined;
        const community = household ? await ancestorOfKind(ctx.tx, household, 'community') : undefined;
        // Within the staff member's area, or in the community they serve (a desk serves all its grids).
        const allowed =
          household?.kind === 'household' &&
          community &&
          (await Promise.all(scopes.map(async (s) => isWithin(household.path, s.path) || (await ancestorOfKind(ctx.tx, s, 'community'))?.id === community.id))).some(Boolean);
        if (!household || !community || !allowed) {
          ctx.reply({ text: t.householdUnknown });
          return { next: 'household' };
        }
        return askCategory(ctx, { communityId: community.id, householdId: household.id });
      },
      async category(ctx, input, data) {
        const id = await chosenCategory(ctx, input, Number(data.communityId), 'dc');
        if (id === undefined) return askCategory(ctx, data);
        ctx.reply({ text: ctx.t.cases.askDescription });
        return { next: 'description', data: { ...data, categoryId: id } };
      },
      async description(ctx, input, data) {
        const text = readDescription(ctx, input);
        if (text === undefined) return { next: 'description', data };
        ctx.reply({
          text: ctx.t.cases.askPriority,
          choices: [
            { id: 'dq:normal', label: ctx.t.cases.normal },
            { id: 'dq:urgent', label: ctx.t.cases.urgent },
          ],
        });
        return { next: 'priority', data: { ...data, description: text } };
      },
      async priority(ctx, input, data) {
        const c = input.kind === 'choice' ? input.choice : '';
        if (c !== 'dq:normal' && c !== 'dq:urgent') {
          ctx.reply({
            text: ctx.t.cases.askPriority,
            choices: [
              { id: 'dq:normal', label: ctx.t.cases.normal },
              { id: 'dq:urgent', label: ctx.t.cases.urgent },
            ],
          });
          return { next: 'priority', data };
        }
        const code = `F-${randomCode(2)}`;
        const { number, caseId } = await submitCase(
          ctx.tx,
          flowEffects(ctx, deps.scheduler),
          {
            intakeKey: ctx.messageKey,
            reporterId: null,
            intakeStaffId: ctx.person.id,
            communityId: Number(data.communityId),
            placeId: data.householdId === null ? null : Number(data.householdId),
            categoryId: Number(data.categoryId),
            priority: c === 'dq:urgent' ? 'urgent' : 'normal',
            description: String(data.description),
            point: null,
            followCodeHash: hashCode(code, codeKey(ctx.config)),
          },
          ctx.now,
        );
        await ctx.audit('case.desk_intake', 'case', caseId);
        ctx.reply({ text: ctx.t.cases.deskLogged({ number, code }) });
        return { done: true };
      },
    },
  };

  async function claim(ctx: FlowContext, typed: string): Promise<StepOutcome> {
    // Codes are not guessable in practice; the cap keeps it that way for a determined guesser.
    if (await ctx.attempts.blocked('follow')) {
      ctx.reply({ text: ctx.t.linking.tooManyAttempts });
      return { done: true, silent: true };
    }
    try {
      const { number } = await claimFollowCode(ctx.tx, ctx.person.id, hashCode(typed, codeKey(ctx.config)), ctx.now);
      ctx.reply({ text: ctx.t.cases.followClaimed({ number }) });
      return { done: true };
    } catch (err) {
      if (!(err instanceof FollowCodeInvalid)) throw err;
      await ctx.attempts.failed('follow');
      await ctx.audit('case.follow_failed', 'person', ctx.person.id);
      ctx.reply({ text: ctx.t.cases.followCodeInvalid });
      return { next: 'code' };
    }
  }

  const follow: Flow = {
    name: 'follow',
    commands: { words: ['/follow', '关注', '추적', 'follow'], takesArgument: true },
    async start(ctx, args) {
      const argument = typeof args?.argument === 'string' ? args.argument.trim() : '';
      if (argument) return claim(ctx, argument);
      ctx.reply({ text: ctx.t.cases.askFollowCode });
      return { next: 'code' };
    },
    steps: {
      async code(ctx, input) {
        if (input.kind !== 'text') {
          ctx.reply({ text: ctx.t.cases.askFollowCode });
          return { next: 'code' };
        }
        return claim(ctx, input.text);
      },
    },
  };

  return [desk, follow];
}
