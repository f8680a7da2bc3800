import { and, asc, desc, eq } from 'drizzle-orm';
import { caseCategories, caseEvents, caseFollowers, cases } from '../../db/schema/index.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import { getUnit } from '../org/tree.js';
import { addInfo, commentOnRating, rateCase } from './feedback.js';
import { CaseError } from './record.js';
import { OPEN_STATUSES } from './rules.js';
import { statusLabel, timelineLines } from './timeline-view.js';
import { choiceOf, explain, RATINGS, uuid, isPhotoProblem, photoProblemText, type FlowKit, type StoredPhoto } from './flow-kit.js';

/** 我的诉求: the person's cases (reported or followed), each with its public timeline; rating and 补充情况. */
export function createMineFlow(kit: FlowKit): Flow {
  const { settings, fx, savePhoto, label } = kit;
  async function caseDetail(ctx: FlowContext, caseId: string): Promise<StepOutcome> {
    const t = ctx.t.cases;
    const [c] = await ctx.tx
      .select({ id: cases.id, number: cases.number, status: cases.status, categoryId: cases.categoryId, reporterId: cases.reporterId, closeReason: cases.closeReason, rating: cases.rating })
      .from(cases)
      .where(eq(cases.id, caseId));
    const follows = c ? (await ctx.tx.select().from(caseFollowers).where(and(eq(caseFollowers.caseId, c.id), eq(caseFollowers.personId, ctx.person.id)))).length > 0 : false;
    if (!c || (c.reporterId !== ctx.person.id && !follows)) {
      ctx.reply({ text: t.caseNotFound });
      return { done: true };
    }
    const [cat] = await ctx.tx.select({ names: caseCategories.names }).from(caseCategories).where(eq(caseCategories.id, c.categoryId));
    const events = await ctx.tx
      .select({ kind: caseEvents.kind, at: caseEvents.at, reason: caseEvents.reason, level: caseEvents.level, details: caseEvents.details })
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, c.id), eq(caseEvents.public, true)))
      .orderBy(asc(caseEvents.id));
    const unitIds = [...new Set(events.map((e) => (e.details as Record<string, unknown>).unitId).filter((id): id is number => typeof id === 'number'))];
    const units = new Map<number, string>();
    for (const id of unitIds) units.set(id, (await getUnit(ctx.tx, id))?.name ?? '');
    const lines = timelineLines(
      ctx.t,
      events.map((e) => ({ ...e, details: (e.details ?? {}) as Record<string, unknown> })),
      (id) => units.get(id),
    ).join('\n');
    const choices =
      c.status === 'resolved'
        ? (['satisfied', 'basically_satisfied', 'unsatisfied'] as const).map((r) => ({ id: `cr:${c.id}:${r[0]}`, label: t[`rate_${r}`] }))
        : OPEN_STATUSES.includes(c.status)
          ? [{ id: `mi:${c.id}`, label: t.addInfo }]
          : undefined;
    ctx.reply({ text: t.timeline({ number: c.number, category: cat ? label(ctx, cat.names) : '', status: statusLabel(ctx.t, c), lines }), choices });
    return { done: true, silent: true };
  }

  /** 我的诉求: the person's cases (reported or followed), each with its public timeline. */
  const mine: Flow = {
    name: 'mycases',
    photoSteps: ['info'],
    menu: [{ id: 'menu.mycases', label: (t) => t.cases.menuMine, visible: (p) => p.consented, order: 20 }],
    commands: { words: ['/mycases', '我的诉求', '내 민원', 'my cases'] },
    async start(ctx) {
      const t = ctx.t.cases;
      const rows = await ctx.tx
        .select({ id: cases.id, number: cases.number, status: cases.status, names: caseCategories.names })
        .from(caseFollowers)
        .innerJoin(cases, eq(cases.id, caseFollowers.caseId))
        .innerJoin(caseCategories, eq(caseCategories.id, cases.categoryId))
        .where(eq(caseFollowers.personId, ctx.person.id))
        .orderBy(desc(cases.createdAt))
        .limit(10);
      if (!rows.length) {
        ctx.reply({ text: t.mineEmpty });
        return { done: true };
      }
      ctx.reply({
        text: t.mineTitle,
        choices: rows.map((r) => ({ id: `mc:${r.id}`, label: t.caseLine({ number: r.number, category: label(ctx, r.names), status: t[`status_${r.status}`] }) })),
      });
      return { next: 'pick' };
    },
    steps: {
      async pick(ctx, input) {
        const id = uuid.safeParse(choiceOf(input)?.replace(/^mc:/, ''));
        if (!id.success) return mine.start(ctx);
        return caseDetail(ctx, id.data);
      },
      async info(ctx, input, data) {
        const t = ctx.t.cases;
        let text: string | null = null;
        let photo: StoredPhoto | null = null;
        if (input.kind === 'text' && input.text.trim()) text = input.text.trim().slice(0, 1000);
        else if (input.kind === 'photo') {
          const saved = await savePhoto(ctx, input);
          if (isPhotoProblem(saved)) {
            ctx.reply({ text: photoProblemText(ctx.t, saved) });
            return { next: 'info', data };
          }
          photo = saved;
        } else {
          ctx.reply({ text: t.askInfo });
          return { next: 'info', data };
        }
        try {
          const { number } = await addInfo(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, text, photo, ctx.now);
          ctx.reply({ text: t.infoAdded({ number }) });
          return { done: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async ratingComment(ctx, input, data) {
        const t = ctx.t.cases;
        if (input.kind === 'text' && input.text.trim() && input.text.trim() !== t.skip) {
          await commentOnRating(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, input.text.trim().slice(0, 1000), ctx.now);
        }
        ctx.reply({ text: t.ratingThanks });
        return { done: true };
      },
    },
    actions: {
      /** 补充情况 on a case: `mi:<caseId>`. */
      async mi(ctx, arg) {
        if (!uuid.safeParse(arg).success) return explain(ctx, new CaseError('not_found'));
        ctx.reply({ text: ctx.t.cases.askInfo });
        return { next: 'info', data: { caseId: arg } };
      },
      /** 好差评 from the resolution message or the case detail: `cr:<caseId>:<s|b|u>`. */
      async cr(ctx, arg) {
        const [caseId, r] = arg.split(':');
        const rating = r ? RATINGS[r] : undefined;
        if (!uuid.safeParse(caseId).success || !rating) return explain(ctx, new CaseError('not_found'));
        try {
          const result = await rateCase(ctx.tx, fx(ctx), caseId!, ctx.person.id, rating, settings, ctx.now);
          // 不满意 reopened it at once (nothing waits on the resident); the reason, if any, follows.
          const ask = result.outcome === 'reopened' ? ctx.t.timeline.askUnsatisfiedReason : ctx.t.cases.askRatingComment;
          ctx.reply({ text: ask, choices: [{ id: 'rk:skip', label: ctx.t.cases.skip }] });
          return { next: 'ratingComment', data: { caseId } };
        } catch (err) {
          if (err instanceof CaseError && err.reason === 'not_allowed') {
            ctx.reply({ text: ctx.t.cases.cannotRate });
            return { done: true, silent: true };
          }
          return explain(ctx, err);
        }
      },
    },
  };

  return mine;
}
