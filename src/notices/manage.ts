import { z } from 'zod';
import { followUpIn } from './follow.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { checkScopes } from '../staff/scope.js';
import { ACTION, correctButton, manageButton, MENU, unreadButton, withdrawButton } from './buttons.js';
import { correctNotice, getNotice, NoticeError, scopesOf, withdrawNotice } from './commands.js';
import type { NoticeFlowDeps } from './compose.js';
import { explainRefusal } from './explain.js';
import { noticeCounts, noticesBy, unreadHouseholds } from './queries.js';
import { LIMITS, NOTICE_TRANSITIONS } from './rules.js';

/** 我发的通知: per notice 送达/已读/失败, the 应急 unread households, 更正 and 撤回. */

const isStaff = (p: PersonView) => p.consented && p.staff.length > 0;
const uuid = z.uuid();

/** The notice, when this person may see and act on it (they reach every one of its scopes). */
async function noticeInReach(ctx: FlowContext, raw: string) {
  const id = uuid.safeParse(raw);
  const notice = id.success ? await getNotice(ctx.tx, id.data) : undefined;
  if (!notice) throw new NoticeError('not_found');
  const decision = await checkScopes(ctx.tx, ctx.person.id, await scopesOf(ctx.tx, notice.id));
  if (!decision.ok) throw new NoticeError(decision.reason === 'no_such_unit' ? 'not_found' : decision.reason, { unitId: decision.unitId });
  return notice;
}

export function createManageFlows(deps: NoticeFlowDeps): Flow[] {
  async function showStats(ctx: FlowContext, raw: string): Promise<StepOutcome | void> {
    const t = ctx.t.notices;
    try {
      const notice = await noticeInReach(ctx, raw);
      const counts = await noticeCounts(ctx.tx, notice.id);
      await ctx.audit('notice.view_stats', 'notice', notice.id);
      const live = notice.status !== 'withdrawn' && notice.status !== 'draft';
      ctx.reply({
        text: t.stats({ ...counts, title: notice.title, status: t[`status_${notice.status}`] }),
        choices: live
          ? [
              { id: unreadButton(notice.id), label: t.unread },
              ...(NOTICE_TRANSITIONS.correct.includes(notice.status) ? [{ id: correctButton(notice.id), label: t.correct }] : []),
              { id: withdrawButton(notice.id), label: t.withdraw },
            ]
          : undefined,
      });
    } catch (err) {
      return explainRefusal(ctx, err);
    }
  }

  const mine: Flow = {
    name: 'noticeMine',
    menu: [{ id: MENU.mine, label: (t) => t.notices.menuMine, visible: isStaff, order: 61, section: 'manage' }],
    actions: {
      [ACTION.manage]: showStats,
      [ACTION.unread]: async (ctx, raw) => {
        const t = ctx.t.notices;
        try {
          const notice = await noticeInReach(ctx, raw);
          const { total, households } = await unreadHouseholds(ctx.tx, notice.id, 30);
          await ctx.audit('notice.view_unread', 'notice', notice.id, { total });
          ctx.reply({ text: total ? t.unreadList({ total, list: households.map((h) => `· ${h.label}`).join('\n') }) : t.unreadNone });
        } catch (err) {
          return explainRefusal(ctx, err);
        }
      },
      [ACTION.correct]: async (_ctx, raw) => ({ goto: 'noticeEdit', args: { noticeId: raw, mode: 'correct' } }),
      [ACTION.withdraw]: async (_ctx, raw) => ({ goto: 'noticeEdit', args: { noticeId: raw, mode: 'withdraw' } }),
    },
    async start(ctx) {
      const t = ctx.t.notices;
      const list = await noticesBy(ctx.tx, ctx.person.id);
      if (list.length === 0) {
        ctx.reply({ text: t.mineEmpty });
        return { done: true };
      }
      ctx.reply({ text: t.menuMine, choices: list.map((n) => ({ id: manageButton(n.id), label: `${t[`status_${n.status}`]} · ${n.title}`.slice(0, 100) })) });
      return { done: true, silent: true };
    },
    steps: {},
  };

  const args = z.object({ noticeId: z.string(), mode: z.enum(['correct', 'withdraw']) });

  /** 更正 / 撤回: one text, then it goes to everyone who got the notice. */
  const edit: Flow = {
    name: 'noticeEdit',
    async start(ctx, raw) {
      const a = args.parse(raw);
      try {
        await noticeInReach(ctx, a.noticeId);
      } catch (err) {
        return explainRefusal(ctx, err);
      }
      ctx.reply({ text: a.mode === 'correct' ? ctx.t.notices.askCorrection : ctx.t.notices.askReason });
      return { next: 'text', data: a };
    },
    steps: {
      async text(ctx, input, raw) {
        const a = args.parse(raw);
        const t = ctx.t.notices;
        const max = a.mode === 'correct' ? LIMITS.correction : LIMITS.reason;
        if (input.kind !== 'text' || input.text.trim().length < 2 || input.text.trim().length > max) {
          ctx.reply({ text: input.kind === 'text' && input.text.trim().length > max ? t.tooLong({ max }) : a.mode === 'correct' ? t.askCorrection : t.askReason });
          return { next: 'text', data: a };
        }
        try {
          const follow =
            a.mode === 'correct'
              ? await correctNotice(ctx.tx, ctx.person.id, a.noticeId, input.text, ctx.now)
              : await withdrawNotice(ctx.tx, ctx.person.id, a.noticeId, input.text, ctx.now);
          await followUpIn(ctx.uow, follow);
        } catch (err) {
          return explainRefusal(ctx, err);
        }
        ctx.reply({ text: a.mode === 'correct' ? t.corrected : t.withdrawn });
        return { done: true };
      },
    },
  };

  return [mine, edit];
}
