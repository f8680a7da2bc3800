import { z } from 'zod';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { parseNumber } from '../dialog/input.js';
import { MAX_SCOPES } from '../audience/scopes.js';
import { areaNames, createAreaPicker, type AreaPickerWords } from '../notices/compose-areas.js';
import { formatLocal, parseLocal } from '../notices/rules.js';
import { ancestorOfKind, getUnit } from '../org/tree.js';
import { basisPress, CREATE, CREATE_RULES, MENU, rulePress, TOPIC, topicPress, type CreateRule } from './buttons.js';
import { getTopic, rankedTopics } from './topics.js';
import { ConsultationError, createConsultation } from './commands.js';
import { optionLines, refusalText } from './explain.js';
import { lifecycleDeps, openConsultation, scheduleOpening } from './lifecycle.js';
import { BASES } from './rules.js';

/**
 * 发起协商 (staff): scope (the whole area, or grids / buildings in it; each pick checked against
 * role × area) → title → background → options → single/multiple (and the maximum) → who votes →
 * rule → start now or at a set time → how many days → open/secret → changeable → summary →
 * publish (opens it and tells the voters, or arms its opening timer).
 */

const isStaff = (p: PersonView) => p.consented && p.staff.some((s) => !s.onLeave);
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);
const textOf = (input: InboundPayload) => (input.kind === 'text' ? input.text.trim() : '');

const draft = z.object({
  scopeUnitIds: z.array(z.number().int().positive()).min(1).max(MAX_SCOPES),
  scopeName: z.string(),
  title: z.string().optional(),
  background: z.string().optional(),
  options: z.array(z.string()).optional(),
  multiple: z.boolean().optional(),
  maxChoices: z.number().int().optional(),
  basis: z.enum(BASES).optional(),
  rule: z.enum(CREATE_RULES).optional(),
  days: z.number().int().optional(),
  secret: z.boolean().optional(),
  changeable: z.boolean().optional(),
  topicId: z.number().int().positive().optional(),
  /** 定时开始 (epoch ms); absent: on publishing. */
  opensAt: z.number().int().optional(),
});
type Draft = z.infer<typeof draft>;
/** A draft with every answer in (the start time stays optional). */
type Full = Required<Omit<Draft, 'opensAt' | 'topicId'>> & Pick<Draft, 'opensAt' | 'topicId'>;

/** The 投票范围 picker's words (the picker is the notice flow's, src/notices/compose-areas.ts). */
const scopeWords = (ctx: FlowContext): AreaPickerWords => {
  const m = ctx.t.consultationStaff;
  return {
    ...m,
    refused: (reason, area) =>
      reason === 'outside_area' ? m.refusedOutsideArea({ area }) : reason === 'on_leave' ? m.refusedOnLeave : reason === 'not_staff' ? ctx.t.consultations.notStaff : m.refusedNoSuchArea,
  };
};

export function createConsultationCreateFlow(): Flow {
  const ask = (ctx: FlowContext, step: string, d: Draft, text: string, choices?: { id: string; label: string }[]): StepOutcome => {
    ctx.reply({ text, ...(choices && { choices }) });
    return { next: step, data: d };
  };
  const invalid = (ctx: FlowContext, step: string, d: Draft, text: string) => ask(ctx, step, d, `${ctx.t.consultations.invalidText}\n${text}`);
  const t = (ctx: FlowContext) => ctx.t.consultations;
  const tz = (ctx: FlowContext) => ctx.config.notices.timeZone;
  /** Voting starts at the set time (if it is still ahead) or now, and lasts `days`. */
  const opensOf = (ctx: FlowContext, d: Draft) => (d.opensAt && d.opensAt > ctx.now.getTime() ? new Date(d.opensAt) : undefined);
  const closesAt = (ctx: FlowContext, d: Draft) => new Date((opensOf(ctx, d) ?? ctx.now).getTime() + d.days! * 86_400_000);
  const example = (ctx: FlowContext) => `${formatLocal(new Date(ctx.now.getTime() + 86_400_000), tz(ctx)).slice(0, 11)}09:00`;
  const ruleOf = (r: CreateRule) => (r === 'civil_code_278_weighty' ? { rule: 'civil_code_278' as const, weighty: true } : { rule: r, weighty: false });

  function summary(ctx: FlowContext, d: Full): StepOutcome {
    const m = t(ctx);
    const staff = ctx.t.consultationStaff;
    const opens = opensOf(ctx, d);
    const text = m.createSummary({
      title: d.title,
      scope: d.scopeName,
      options: optionLines(d.options),
      basis: m[`basis_${d.basis}`],
      rule: m[`rule_${d.rule}`],
      closes: formatLocal(closesAt(ctx, d), tz(ctx)),
      secret: d.secret ? m.secretBallot : m.openBallot,
      changeable: d.changeable ? m.changeableYes : m.changeableNo,
    });
    return ask(ctx, 'confirm', d, `${text}\n${opens ? staff.summaryOpens({ time: formatLocal(opens, tz(ctx)) }) : staff.summaryOpensNow}`, [
      { id: CREATE.publish, label: opens ? staff.createSchedule : m.createOpen },
      { id: CREATE.cancel, label: m.cancel },
    ]);
  }

  const step = (name: string, handle: (ctx: FlowContext, input: InboundPayload, d: Draft) => Promise<StepOutcome> | StepOutcome) => ({
    [name]: async (ctx: FlowContext, input: InboundPayload, data: Record<string, unknown>) => handle(ctx, input, draft.parse(data)),
  });
  const askRule = (ctx: FlowContext, d: Draft) =>
    ask(ctx, 'rule', d, t(ctx).createAskRule, CREATE_RULES.filter((r) => d.basis === 'owners' || !r.startsWith('civil_code_278')).map((r) => ({ id: CREATE.rule(r), label: t(ctx)[`rule_${r}`] })));
  const askOpens = (ctx: FlowContext, d: Draft) => {
    const staff = ctx.t.consultationStaff;
    return ask(ctx, 'opens', d, staff.askOpens, [{ id: CREATE.opensNow, label: staff.opensNow }, { id: CREATE.opensLater, label: staff.opensLater }]);
  };

  /** After the scope: the community's open topics, most supported first, can start the draft (议题征集 → 投票). */
  async function afterScope(ctx: FlowContext, scopeUnitIds: number[]): Promise<StepOutcome> {
    const d: Draft = { scopeUnitIds, scopeName: await areaNames(ctx, scopeUnitIds) };
    const first = await getUnit(ctx.tx, scopeUnitIds[0]!);
    const community = first ? await ancestorOfKind(ctx.tx, first, 'community') : undefined;
    const topics = community ? (await rankedTopics(ctx.tx, community.id, 6)).filter((p) => p.status === 'open') : [];
    if (topics.length === 0) return ask(ctx, 'title', d, t(ctx).createAskTitle);
    return ask(ctx, 'fromTopic', d, t(ctx).createFromTopic, [
      ...topics.map((p) => ({ id: TOPIC.view(p.id), label: t(ctx).topicItem({ title: p.title, supports: p.supports, status: '' }) })),
      { id: CREATE.blank, label: t(ctx).createBlank },
    ]);
  }
  const scope = createAreaPicker(afterScope, scopeWords);

  return {
    name: 'consultationCreate',
    menu: [{ id: MENU.create, label: (m) => m.consultations.menuCreate, visible: isStaff, order: 72, section: 'manage' }],
    start: scope.start,
    steps: {
      ...scope.steps,
      ...step('fromTopic', async (ctx, input, d) => {
        const id = topicPress.safeParse(choiceOf(input));
        const topic = id.success ? await getTopic(ctx.tx, id.data) : undefined;
        if (!topic) return ask(ctx, 'title', d, t(ctx).createAskTitle);
        return ask(ctx, 'options', { ...d, topicId: topic.id, title: topic.title, background: topic.body }, t(ctx).createAskOptions);
      }),
      ...step('title', (ctx, input, d) => {
        const title = textOf(input);
        if (title.length < 2 || title.length > 60) return invalid(ctx, 'title', d, t(ctx).createAskTitle);
        return ask(ctx, 'background', { ...d, title }, t(ctx).createAskBackground);
      }),
      ...step('background', (ctx, input, d) => {
        const background = textOf(input);
        if (background.length < 2 || background.length > 900) return invalid(ctx, 'background', d, t(ctx).createAskBackground);
        return ask(ctx, 'options', { ...d, background }, t(ctx).createAskOptions);
      }),
      ...step('options', (ctx, input, d) => {
        const options = textOf(input).split(/[\n、，,;；]+/).map((o) => o.replace(/^\s*\d+[.、)]\s*/, '').trim()).filter(Boolean);
        if (options.length < 2 || options.length > 9 || options.some((o) => o.length > 40)) return invalid(ctx, 'options', d, t(ctx).createAskOptions);
        return ask(ctx, 'multiple', { ...d, options }, t(ctx).createAskMultiple, [{ id: CREATE.single, label: t(ctx).single }, { id: CREATE.multiple, label: t(ctx).multiple }]);
      }),
      ...step('multiple', (ctx, input, d) => {
        const choice = choiceOf(input);
        if (choice === CREATE.multiple && d.options!.length > 2) return ask(ctx, 'max', { ...d, multiple: true }, t(ctx).createAskMax({ n: d.options!.length }));
        if (choice !== CREATE.single && choice !== CREATE.multiple) return ask(ctx, 'multiple', d, t(ctx).createAskMultiple, [{ id: CREATE.single, label: t(ctx).single }, { id: CREATE.multiple, label: t(ctx).multiple }]);
        const multiple = choice === CREATE.multiple;
        return ask(ctx, 'basis', { ...d, multiple, maxChoices: multiple ? 2 : 1 }, t(ctx).createAskBasis, BASES.map((b) => ({ id: CREATE.basis(b), label: t(ctx)[`basis_${b}`] })));
      }),
      ...step('max', (ctx, input, d) => {
        const n = parseNumber(textOf(input));
        if (n === undefined || n < 2 || n > d.options!.length) return ask(ctx, 'max', d, `${t(ctx).invalidNumber}\n${t(ctx).createAskMax({ n: d.options!.length })}`);
        return ask(ctx, 'basis', { ...d, maxChoices: n }, t(ctx).createAskBasis, BASES.map((b) => ({ id: CREATE.basis(b), label: t(ctx)[`basis_${b}`] })));
      }),
      ...step('basis', (ctx, input, d) => {
        const basis = basisPress.safeParse(choiceOf(input));
        if (!basis.success) return ask(ctx, 'basis', d, t(ctx).createAskBasis, BASES.map((b) => ({ id: CREATE.basis(b), label: t(ctx)[`basis_${b}`] })));
        return askRule(ctx, { ...d, basis: basis.data });
      }),
      ...step('rule', (ctx, input, d) => {
        const rule = rulePress.safeParse(choiceOf(input));
        if (!rule.success || (rule.data.startsWith('civil_code_278') && d.basis !== 'owners')) return askRule(ctx, d);
        return askOpens(ctx, { ...d, rule: rule.data });
      }),
      ...step('opens', (ctx, input, d) => {
        const choice = choiceOf(input);
        if (choice === CREATE.opensNow) return ask(ctx, 'days', { ...d, opensAt: undefined }, t(ctx).createAskDays);
        if (choice === CREATE.opensLater) return ask(ctx, 'opensTime', d, ctx.t.consultationStaff.askOpensTime({ example: example(ctx) }));
        return askOpens(ctx, d);
      }),
      ...step('opensTime', (ctx, input, d) => {
        const at = parseLocal(textOf(input), tz(ctx));
        if (!at || at.getTime() <= ctx.now.getTime()) return ask(ctx, 'opensTime', d, ctx.t.consultationStaff.badOpensTime({ example: example(ctx) }));
        return ask(ctx, 'days', { ...d, opensAt: at.getTime() }, t(ctx).createAskDays);
      }),
      ...step('days', (ctx, input, d) => {
        const days = parseNumber(textOf(input));
        if (days === undefined || days < 1 || days > 30) return ask(ctx, 'days', d, `${t(ctx).invalidNumber}\n${t(ctx).createAskDays}`);
        return ask(ctx, 'secret', { ...d, days }, t(ctx).createAskSecret, [{ id: CREATE.secret, label: t(ctx).secretBallot }, { id: CREATE.open, label: t(ctx).openBallot }]);
      }),
      ...step('secret', (ctx, input, d) => {
        const choice = choiceOf(input);
        if (choice !== CREATE.secret && choice !== CREATE.open) return ask(ctx, 'secret', d, t(ctx).createAskSecret, [{ id: CREATE.secret, label: t(ctx).secretBallot }, { id: CREATE.open, label: t(ctx).openBallot }]);
        return ask(ctx, 'changeable', { ...d, secret: choice === CREATE.secret }, t(ctx).createAskChangeable, [{ id: CREATE.changeable, label: t(ctx).changeableYes }, { id: CREATE.final, label: t(ctx).changeableNo }]);
      }),
      ...step('changeable', (ctx, input, d) => {
        const choice = choiceOf(input);
        if (choice !== CREATE.changeable && choice !== CREATE.final) return ask(ctx, 'changeable', d, t(ctx).createAskChangeable, [{ id: CREATE.changeable, label: t(ctx).changeableYes }, { id: CREATE.final, label: t(ctx).changeableNo }]);
        return summary(ctx, { ...d, changeable: choice === CREATE.changeable } as Full);
      }),
      ...step('confirm', async (ctx, input, d) => {
        if (choiceOf(input) !== CREATE.publish) {
          ctx.reply({ text: t(ctx).cancelled });
          return { done: true, silent: true };
        }
        const full = d as Full;
        // The set time may have come while the summary waited: then it opens now.
        const opens = opensOf(ctx, full);
        try {
          // One savepoint: a refused opening leaves no draft behind.
          const c = await ctx.uow.savepoint(async (uow) => {
            const made = await createConsultation(
              uow.tx,
              ctx.person.id,
              { title: full.title, background: full.background, options: full.options, multiple: full.multiple, maxChoices: full.maxChoices, scopeUnitIds: full.scopeUnitIds, basis: full.basis, ...ruleOf(full.rule), secret: full.secret, changeable: full.changeable, closesAt: closesAt(ctx, full), topicId: d.topicId },
              ctx.now,
            );
            return opens ? scheduleOpening(uow, ctx.person.id, made.id, opens, ctx.now) : openConsultation(uow, ctx.person.id, made.id, ctx.now, lifecycleDeps(ctx.config));
          });
          ctx.reply({ text: opens ? ctx.t.consultationStaff.scheduled({ title: c.title, time: formatLocal(opens, tz(ctx)), id: c.id }) : t(ctx).created({ title: c.title, id: c.id }) });
        } catch (err) {
          if (!(err instanceof ConsultationError)) throw err;
          ctx.reply({ text: refusalText(ctx.t, err) });
        }
        return { done: true, silent: true };
      }),
    },
  };
}
