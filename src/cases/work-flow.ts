import { and, eq } from 'drizzle-orm';
import { cases } from '../../db/schema/index.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import { getUnit, unitsUnder } from '../org/tree.js';
import { subCommittee } from '../../db/schema/index.js';
import { assigneeCard, cardChoices, caseView, formatDue } from './card.js';
import { commentCase, takeOver } from './escalation.js';
import { acceptCase, closeCase, openCasesOf, resolveCase, returnToCommunity, transferCase, type StaffCloseReason, type TransferTarget } from './holder.js';
import { CaseError } from './record.js';
import { choiceOf, explain, note, uuid, isPhotoProblem, photoProblemText, type FlowKit, type StoredPhoto } from './flow-kit.js';

/** 我的待办 and the buttons on case cards: accept, resolve, transfer, return, take over, comment. */
export function createWorkFlow(kit: FlowKit): Flow {
  const { settings, fx, savePhoto } = kit;
  async function transferChoices(ctx: FlowContext, caseId: string, gridsOnly: boolean) {
    const [c] = await ctx.tx.select({ communityId: cases.communityId, gridId: cases.gridId }).from(cases).where(eq(cases.id, caseId));
    if (!c) return undefined;
    const community = await getUnit(ctx.tx, c.communityId);
    const grids = community ? await unitsUnder(ctx.tx, community, 'grid') : [];
    const choices = grids.filter((g) => g.id !== c.gridId).map((g) => ({ id: `tg:${g.id}`, label: g.name }));
    if (!gridsOnly) for (const sc of subCommittee.enumValues) choices.push({ id: `ts:${sc}`, label: ctx.t.cases[`sub_${sc}`] });
    return choices.slice(0, 20);
  }

  const CLOSE_REASONS: StaffCloseReason[] = ['not_our_duty', 'transferred_out', 'duplicate'];
  function askCloseReason(ctx: FlowContext, caseId: string): StepOutcome {
    ctx.reply({ text: ctx.t.cases.pickCloseReason, choices: CLOSE_REASONS.map((r) => ({ id: `cz:${r}`, label: ctx.t.cases[`close_${r}`] })) });
    return { next: 'closeReason', data: { caseId } };
  }

  const caseIdOr = (ctx: FlowContext, arg: string, work: (caseId: string) => Promise<StepOutcome | void>) =>
    uuid.safeParse(arg).success ? work(arg).catch((err) => explain(ctx, err)) : Promise.resolve(explain(ctx, new CaseError('not_found')));

  /** 我的待办 and the buttons on case cards: accept, resolve, transfer, return, take over, comment. */
  const work: Flow = {
    name: 'casework',
    photoSteps: ['resolvePhoto'],
    menu: [{ id: 'menu.work', label: (t) => t.cases.menuWork, visible: (p) => p.staff.length > 0, order: 5 }],
    commands: { words: ['/work', '待办', '我的待办', '내 업무', 'my work'] },
    async start(ctx) {
      const t = ctx.t.cases;
      const rows = await openCasesOf(ctx.tx, ctx.person.id);
      if (!rows.length) {
        ctx.reply({ text: t.workEmpty });
        return { done: true };
      }
      ctx.reply({
        text: t.workTitle,
        choices: rows.map((r) => ({ id: `cw:${r.id}`, label: t.workLine({ number: r.number, status: t[`status_${r.status}`], due: r.dueAt ? formatDue(r.dueAt) : '—' }) })),
      });
      return { next: 'pick' };
    },
    steps: {
      async pick(ctx, input) {
        const t = ctx.t.cases;
        const id = uuid.safeParse(choiceOf(input)?.replace(/^cw:/, ''));
        if (!id.success) return work.start(ctx);
        const [c] = await ctx.tx.select().from(cases).where(and(eq(cases.id, id.data), eq(cases.assigneeId, ctx.person.id)));
        if (!c) return explain(ctx, new CaseError('not_yours'));
        // The same card the worker was sent: place as the resident gave it, photos, the buttons of its stage.
        const card = assigneeCard(await caseView(ctx.tx, c), c, c.dueAt ?? ctx.now)(ctx.t, ctx.person.locale);
        ctx.reply({ ...card, choices: cardChoices(ctx.t, c.id, c.status === 'accepted' ? 'accepted' : 'assigned') });
        return { done: true, silent: true };
      },
      async resolveNote(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askResolveNote });
          return { next: 'resolveNote', data };
        }
        ctx.reply({ text: ctx.t.cases.askResolvePhoto, choices: [{ id: 'rp:skip', label: ctx.t.cases.skip }] });
        return { next: 'resolvePhoto', data: { ...data, note: parsed.data } };
      },
      async resolvePhoto(ctx, input, data) {
        const t = ctx.t.cases;
        let photo: StoredPhoto | null = null;
        if (input.kind === 'photo') {
          const saved = await savePhoto(ctx, input);
          if (isPhotoProblem(saved)) {
            ctx.reply({ text: photoProblemText(ctx.t, saved), choices: [{ id: 'rp:skip', label: t.skip }] });
            return { next: 'resolvePhoto', data };
          }
          photo = saved;
        } else if (choiceOf(input) !== 'rp:skip' && !(input.kind === 'text' && input.text.trim() === t.skip)) {
          ctx.reply({ text: t.askResolvePhoto, choices: [{ id: 'rp:skip', label: t.skip }] });
          return { next: 'resolvePhoto', data };
        }
        try {
          const { number } = await resolveCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, String(data.note), photo, settings, ctx.now);
          ctx.reply({ text: t.resolvedStaff({ number }) });
          // Back to the menu: the worker's next case is one tap away.
          return { done: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async transferTarget(ctx, input, data) {
        const c = choiceOf(input) ?? '';
        let target: TransferTarget | undefined;
        if (c.startsWith('tg:')) target = { kind: 'grid', gridId: Number(c.slice(3)) };
        const sc = subCommittee.enumValues.find((v) => `ts:${v}` === c);
        if (sc && !data.gridsOnly) target = { kind: 'subCommittee', subCommittee: sc };
        if (!target) {
          const choices = await transferChoices(ctx, String(data.caseId), !!data.gridsOnly);
          ctx.reply({ text: data.gridsOnly ? ctx.t.cases.pickGrid : ctx.t.cases.pickTransferTarget, choices });
          return { next: 'transferTarget', data };
        }
        ctx.reply({ text: ctx.t.cases.askTransferReason });
        return { next: 'transferReason', data: { ...data, target } };
      },
      async transferReason(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askTransferReason });
          return { next: 'transferReason', data };
        }
        try {
          const { number, toLabel } = await transferCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, data.target as TransferTarget, parsed.data, settings, ctx.now);
          ctx.reply({ text: ctx.t.cases.transferredStaff({ number, to: toLabel(ctx.t) }) });
          return { done: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async returnReason(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askReturnReason });
          return { next: 'returnReason', data };
        }
        try {
          const { number } = await returnToCommunity(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, parsed.data, settings, ctx.now);
          ctx.reply({ text: ctx.t.cases.returnedStaff({ number }) });
          return { done: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async closeReason(ctx, input, data) {
        const t = ctx.t.cases;
        const reason = CLOSE_REASONS.find((r) => choiceOf(input) === `cz:${r}`);
        if (!reason) return askCloseReason(ctx, String(data.caseId));
        ctx.reply({ text: reason === 'duplicate' ? t.askDuplicateOf : t.askCloseDetail({ reason: t[`close_${reason}`] }) });
        return { next: 'closeDetail', data: { ...data, reason } };
      },
      async closeDetail(ctx, input, data) {
        const t = ctx.t.cases;
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: data.reason === 'duplicate' ? t.askDuplicateOf : t.askCloseDetail({ reason: t[`close_${data.reason as StaffCloseReason}`] }) });
          return { next: 'closeDetail', data };
        }
        try {
          const { number } = await closeCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, data.reason as StaffCloseReason, parsed.data, ctx.now);
          ctx.reply({ text: t.closedStaff({ number }) });
          return { done: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async comment(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askComment });
          return { next: 'comment', data };
        }
        try {
          const { number } = await commentCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, parsed.data, ctx.now);
          ctx.reply({ text: ctx.t.cases.commentedStaff({ number }) });
          return { done: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
    },
    actions: {
      /** 接单 */
      ck: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const { number, due } = await acceptCase(ctx.tx, fx(ctx), caseId, ctx.person.id, settings, ctx.now);
          ctx.reply({ text: ctx.t.cases.acceptedStaff({ number, due: formatDue(due) }), choices: [{ id: `cv:${caseId}`, label: ctx.t.cases.resolve }] });
        }),
      /** 办结: asks for the note first; the command runs when it arrives. */
      cv: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const [c] = await ctx.tx.select({ status: cases.status }).from(cases).where(eq(cases.id, caseId));
          if (!c) throw new CaseError('not_found');
          if (c.status !== 'assigned' && c.status !== 'accepted') throw new CaseError('not_allowed', c.status);
          ctx.reply({ text: ctx.t.cases.askResolveNote });
          return { next: 'resolveNote', data: { caseId } };
        }),
      /** 转办 */
      ct: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const choices = await transferChoices(ctx, caseId, false);
          if (!choices) throw new CaseError('not_found');
          ctx.reply({ text: ctx.t.cases.pickTransferTarget, choices });
          return { next: 'transferTarget', data: { caseId } };
        }),
      /** 退回社区 */
      cb: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          ctx.reply({ text: ctx.t.cases.askReturnReason });
          return { next: 'returnReason', data: { caseId } };
        }),
      /** 我来处理 (leaders) */
      co: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const { number, due } = await takeOver(ctx.tx, fx(ctx), caseId, ctx.person.id, settings, ctx.now);
          ctx.reply({ text: `${ctx.t.cases.tookOver({ number })} ${ctx.t.cases.acceptedStaff({ number, due: formatDue(due) })}`, choices: [{ id: `cv:${caseId}`, label: ctx.t.cases.resolve }] });
        }),
      /** 改派网格 (leaders) */
      cg: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const choices = await transferChoices(ctx, caseId, true);
          if (!choices) throw new CaseError('not_found');
          ctx.reply({ text: ctx.t.cases.pickGrid, choices });
          return { next: 'transferTarget', data: { caseId, gridsOnly: true } };
        }),
      /** 关闭（非办结）: 不属于本社区职责 / 已转办 / 重复, each with where it went. */
      cx: (ctx, arg) => caseIdOr(ctx, arg, async (caseId) => askCloseReason(ctx, caseId)),
      /** 批示 (leaders) */
      cm: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          ctx.reply({ text: ctx.t.cases.askComment });
          return { next: 'comment', data: { caseId } };
        }),
    },
  };

  return work;
}
