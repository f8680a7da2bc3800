import { z } from 'zod';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { formatLocal } from '../notices/rules.js';
import { codeKey } from '../secrets.js';
import { MENU, optionPress, pickPress, VOTE } from './buttons.js';
import { CONSULTATION_LINK_JOB } from './chain.js';
import { castBallot, ConsultationError, declareAdult, findReceipt, getConsultation, myBallot, voterFor, type ConsultationRow } from './commands.js';
import { choiceLabels, explainResult, refusalText, viaLabel } from './explain.js';
import type { FirstBallots } from './first-ballot.js';
import { currentResult, type ConsultationResult } from './lifecycle.js';
import { consultationsFor } from './queries.js';

/**
 * 社区协商投票 for residents: the votes covering their home → one vote (its result once
 * published) → their ballot if they have one (change it where allowed) → choose (one, or up to
 * the maximum) → confirm → receipt. 回执 looks a receipt up in the published lists.
 */

const resident = (p: PersonView) => p.consented && p.householdStatus === 'bound';
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);
const picking = z.object({ id: z.uuid(), chosen: z.array(z.number().int().min(0).max(8)).max(9) });

async function refuse(ctx: FlowContext, err: unknown): Promise<StepOutcome> {
  if (!(err instanceof ConsultationError)) throw err;
  ctx.reply({ text: refusalText(ctx.t, err) });
  return { done: true, silent: true };
}

export function createVoteFlows(opts: { firstBallots?: FirstBallots } = {}): Flow[] {
  const tz = (ctx: FlowContext) => ctx.config.notices.timeZone;

  async function showList(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.consultations;
    if (!ctx.person.householdId || ctx.person.householdStatus !== 'bound') {
      ctx.reply({ text: t.ineligible_not_bound });
      return { done: true, silent: true };
    }
    const list = await consultationsFor(ctx.tx, ctx.person.householdId, ctx.now);
    if (list.length === 0) {
      ctx.reply({ text: t.listEmpty });
      return { done: true, silent: true };
    }
    if (list.length === 1) return showOne(ctx, list[0]!);
    ctx.reply({
      text: t.listIntro,
      choices: list.map((c) => ({ id: VOTE.pick(c.id), label: t.listItem({ title: c.title, closes: formatLocal(c.closesAt, tz(ctx)).slice(5), mark: c.status === 'published' ? t.markPublished : '' }) })),
    });
    return { next: 'list' };
  }

  async function showOne(ctx: FlowContext, c: ConsultationRow): Promise<StepOutcome> {
    const t = ctx.t.consultations;
    if (c.status === 'published') {
      ctx.reply({ text: `${t.resultTitle({ title: c.title })}\n${explainResult(ctx.t, c, (c.result as unknown as ConsultationResult | null) ?? (await currentResult(ctx.tx, c)))}\n${t.receiptHint}` });
      return { done: true, silent: true };
    }
    const who = await voterFor(ctx.tx, c, ctx.person.id, ctx.now);
    if (!who.ok && who.reason === 'ask_age') {
      ctx.reply({ text: t.askAdult, choices: [{ id: VOTE.adult, label: t.yes }, { id: VOTE.minor, label: t.no }] });
      return { next: 'age', data: { id: c.id, chosen: [] } };
    }
    if (!who.ok) {
      ctx.reply({ text: t[`ineligible_${who.reason}`] });
      return { done: true, silent: true };
    }
    ctx.reply({ text: t.ballotIntro({ title: c.title, background: c.background, closes: formatLocal(c.closesAt, tz(ctx)), secret: c.secret ? t.secretBallot : t.openBallot }) });
    const mine = await myBallot(ctx.tx, codeKey(ctx.config), c, who.voterKey);
    if (mine) {
      const text = t.myBallot({ choices: choiceLabels(c, mine.choices), receipt: mine.receipt, via: viaLabel(t, mine.via) });
      if (!c.changeable || mine.via !== 'chat') {
        ctx.reply({ text: mine.via === 'chat' ? text : `${text}\n${t.alreadyVoted({ via: viaLabel(t, mine.via) })}` });
        return { done: true, silent: true };
      }
      ctx.reply({ text, choices: [{ id: VOTE.change, label: t.changeBallot }, { id: VOTE.keep, label: t.keepBallot }] });
      return { next: 'existing', data: { id: c.id, chosen: [] } };
    }
    return askChoices(ctx, c, []);
  }

  function askChoices(ctx: FlowContext, c: ConsultationRow, chosen: number[]): StepOutcome {
    const t = ctx.t.consultations;
    const mark = (i: number) => (c.multiple ? (chosen.includes(i) ? '✅ ' : '⬜ ') : '');
    const head = c.multiple ? `${t.pickUpTo({ max: c.maxChoices })}${chosen.length ? `\n${t.pickedSoFar({ list: choiceLabels(c, chosen) })}` : ''}` : t.pickOne;
    ctx.reply({
      text: head,
      choices: [...c.options.map((o, i) => ({ id: VOTE.option(i), label: `${mark(i)}${o}` })), ...(c.multiple && chosen.length ? [{ id: VOTE.done, label: t.done }] : [])],
    });
    return { next: 'pick', data: { id: c.id, chosen } };
  }

  function askConfirm(ctx: FlowContext, c: ConsultationRow, chosen: number[]): StepOutcome {
    const t = ctx.t.consultations;
    ctx.reply({ text: t.confirmAsk({ choices: choiceLabels(c, chosen) }), choices: [{ id: VOTE.confirm, label: t.confirm }, { id: VOTE.again, label: t.reselect }, { id: VOTE.cancel, label: t.cancel }] });
    return { next: 'confirm', data: { id: c.id, chosen } };
  }

  /** The consultation of the saved step, re-read (it may have closed meanwhile). */
  async function load(ctx: FlowContext, data: Record<string, unknown>) {
    const d = picking.parse(data);
    const c = await getConsultation(ctx.tx, d.id);
    if (!c) throw new ConsultationError('not_found');
    return { c, chosen: d.chosen };
  }

  const vote: Flow = {
    name: 'consultations',
    menu: [{ id: MENU.vote, label: (t) => t.consultations.menuVote, visible: resident, order: 50, section: 'consultations' }],
    commands: { words: ['投票', '/vote', 'vote', '투표'] },
    start: showList,
    steps: {
      async list(ctx, input) {
        const id = pickPress.safeParse(choiceOf(input));
        const c = id.success ? await getConsultation(ctx.tx, id.data) : undefined;
        return c ? showOne(ctx, c) : showList(ctx);
      },
      async age(ctx, input, data) {
        const choice = choiceOf(input);
        if (choice !== VOTE.adult && choice !== VOTE.minor) return { next: 'age', data };
        await declareAdult(ctx.tx, ctx.person.id, choice === VOTE.adult, ctx.now);
        const { c } = await load(ctx, data);
        return showOne(ctx, c);
      },
      async existing(ctx, input, data) {
        if (choiceOf(input) !== VOTE.change) return { done: true };
        const { c } = await load(ctx, data);
        return askChoices(ctx, c, []);
      },
      async pick(ctx, input, data) {
        const { c, chosen } = await load(ctx, data);
        if (choiceOf(input) === VOTE.done && chosen.length) return askConfirm(ctx, c, chosen);
        const option = optionPress.safeParse(choiceOf(input));
        if (!option.success || option.data >= c.options.length) return askChoices(ctx, c, chosen);
        if (!c.multiple) return askConfirm(ctx, c, [option.data]);
        const next = chosen.includes(option.data) ? chosen.filter((i) => i !== option.data) : chosen.length < c.maxChoices ? [...chosen, option.data] : chosen;
        if (next === chosen && !chosen.includes(option.data)) ctx.reply({ text: ctx.t.consultations.pickUpTo({ max: c.maxChoices }) });
        return askChoices(ctx, c, next);
      },
      async confirm(ctx, input, data) {
        const { c, chosen } = await load(ctx, data);
        const choice = choiceOf(input);
        if (choice === VOTE.again) return askChoices(ctx, c, []);
        if (choice !== VOTE.confirm) {
          ctx.reply({ text: ctx.t.consultations.cancelled });
          return { done: true, silent: true };
        }
        try {
          const r = await castBallot(ctx.tx, codeKey(ctx.config), c.id, ctx.person.id, chosen, ctx.now, opts.firstBallots);
          if (r.stored) ctx.uow.enqueue(CONSULTATION_LINK_JOB, { consultationId: c.id, at: Math.floor(ctx.now.getTime() / 1000) });
          const t = ctx.t.consultations;
          ctx.reply({ text: r.stored ? (r.changed ? t.castChanged({ receipt: r.receipt }) : t.cast({ receipt: r.receipt })) : t.castSame({ receipt: r.receipt }) });
          return { done: true, silent: true };
        } catch (err) {
          return refuse(ctx, err);
        }
      },
    },
  };

  async function lookUp(ctx: FlowContext, receipt: string): Promise<StepOutcome> {
    const t = ctx.t.consultations;
    const list = ctx.person.householdId ? await consultationsFor(ctx.tx, ctx.person.householdId, ctx.now) : [];
    for (const c of list.filter((x) => x.status === 'published')) {
      const found = await findReceipt(ctx.tx, c.id, receipt);
      if (found) {
        ctx.reply({ text: `${c.title}: ${t.receiptFound({ choices: choiceLabels(c, found.choices), counted: found.counted ? t.receiptCounted : t.receiptReplaced })}` });
        return { done: true, silent: true };
      }
    }
    ctx.reply({ text: t.receiptNotFound });
    return { done: true, silent: true };
  }

  const receipt: Flow = {
    name: 'ballotReceipt',
    commands: { words: ['回执', '/receipt', 'receipt', '영수증'], takesArgument: true },
    async start(ctx, args) {
      const given = typeof args?.argument === 'string' ? args.argument.trim() : '';
      if (/^[0-9a-fA-F]{12}$/.test(given)) return lookUp(ctx, given);
      ctx.reply({ text: ctx.t.consultations.receiptAsk });
      return { next: 'ask' };
    },
    steps: {
      async ask(ctx, input) {
        return lookUp(ctx, input.kind === 'text' ? input.text.trim() : '');
      },
    },
  };

  return [vote, receipt];
}
