import { z } from 'zod';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { parseNumber } from '../dialog/input.js';
import { formatLocal } from '../notices/rules.js';
import { ancestorOfKind, getUnit } from '../org/tree.js';
import { reachRoots, scopedAssignments } from '../staff/scope.js';
import { basisPress, CREATE, CREATE_RULES, MENU, rulePress, TOPIC, topicPress, type CreateRule } from './buttons.js';
import { getTopic, rankedTopics } from './topics.js';
import { ConsultationError, createConsultation } from './commands.js';
import { isAudienceScopeKind } from '../audience/scopes.js';
import { optionLines, refusalText } from './explain.js';
import { lifecycleDeps, openConsultation } from './lifecycle.js';
import { BASES } from './rules.js';

/**
 * 发起协商 (staff): title → background → options → single/multiple (and the maximum) → who votes
 * → rule → how many days → open/secret → changeable → summary → publish (opens it and tells the
 * voters). The scope is the widest area the staff member serves.
 */

const isStaff = (p: PersonView) => p.consented && p.staff.some((s) => !s.onLeave);
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);
const textOf = (input: InboundPayload) => (input.kind === 'text' ? input.text.trim() : '');

const draft = z.object({
  scopeUnitId: z.number().int().positive(),
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
});
type Draft = z.infer<typeof draft>;

export function createConsultationCreateFlow(): Flow {
  const ask = (ctx: FlowContext, step: string, d: Draft, text: string, choices?: { id: string; label: string }[]): StepOutcome => {
    ctx.reply({ text, ...(choices && { choices }) });
    return { next: step, data: d };
  };
  const invalid = (ctx: FlowContext, step: string, d: Draft, text: string) => ask(ctx, step, d, `${ctx.t.consultations.invalidText}\n${text}`);
  const t = (ctx: FlowContext) => ctx.t.consultations;
  const closesAt = (ctx: FlowContext, days: number) => new Date(ctx.now.getTime() + days * 86_400_000);
  const ruleOf = (r: CreateRule) => (r === 'civil_code_278_weighty' ? { rule: 'civil_code_278' as const, weighty: true } : { rule: r, weighty: false });

  function summary(ctx: FlowContext, d: Required<Draft>): StepOutcome {
    const m = t(ctx);
    return ask(
      ctx,
      'confirm',
      d,
      m.createSummary({
        title: d.title,
        scope: d.scopeName,
        options: optionLines(d.options),
        basis: m[`basis_${d.basis}`],
        rule: m[`rule_${d.rule}`],
        closes: formatLocal(closesAt(ctx, d.days), ctx.config.notices.timeZone),
        secret: d.secret ? m.secretBallot : m.openBallot,
        changeable: d.changeable ? m.changeableYes : m.changeableNo,
      }),
      [{ id: CREATE.publish, label: m.createOpen }, { id: CREATE.cancel, label: m.cancel }],
    );
  }

  const step = (name: string, handle: (ctx: FlowContext, input: InboundPayload, d: Draft) => Promise<StepOutcome> | StepOutcome) => ({
    [name]: async (ctx: FlowContext, input: InboundPayload, data: Record<string, unknown>) => handle(ctx, input, draft.parse(data)),
  });
  const askRule = (ctx: FlowContext, d: Draft) =>
    ask(ctx, 'rule', d, t(ctx).createAskRule, CREATE_RULES.filter((r) => d.basis === 'owners' || !r.startsWith('civil_code_278')).map((r) => ({ id: CREATE.rule(r), label: t(ctx)[`rule_${r}`] })));

  return {
    name: 'consultationCreate',
    menu: [{ id: MENU.create, label: (m) => m.consultations.menuCreate, visible: isStaff, order: 72, section: 'manage' }],
    async start(ctx) {
      const roots = reachRoots(await scopedAssignments(ctx.tx, ctx.person.id)).filter((u) => isAudienceScopeKind(u.kind));
      const root = roots[0];
      if (!root) {
        ctx.reply({ text: t(ctx).notStaff });
        return { done: true, silent: true };
      }
      const unit = (await getUnit(ctx.tx, root.id))!;
      const d: Draft = { scopeUnitId: root.id, scopeName: unit.name };
      // 议题征集 → 投票: the community's open topics, most supported first, can start the draft.
      const community = await ancestorOfKind(ctx.tx, unit, 'community');
      const topics = community ? (await rankedTopics(ctx.tx, community.id, 6)).filter((p) => p.status === 'open') : [];
      if (topics.length === 0) return ask(ctx, 'title', d, t(ctx).createAskTitle);
      return ask(ctx, 'fromTopic', d, t(ctx).createFromTopic, [
        ...topics.map((p) => ({ id: TOPIC.view(p.id), label: t(ctx).topicItem({ title: p.title, supports: p.supports, status: '' }) })),
        { id: CREATE.blank, label: t(ctx).createBlank },
      ]);
    },
    steps: {
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
        return ask(ctx, 'days', { ...d, rule: rule.data }, t(ctx).createAskDays);
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
        return summary(ctx, { ...d, changeable: choice === CREATE.changeable } as Required<Draft>);
      }),
      ...step('confirm', async (ctx, input, d) => {
        if (choiceOf(input) !== CREATE.publish) {
          ctx.reply({ text: t(ctx).cancelled });
          return { done: true, silent: true };
        }
        const full = d as Required<Draft>;
        try {
          const c = await createConsultation(
            ctx.tx,
            ctx.person.id,
            { title: full.title, background: full.background, options: full.options, multiple: full.multiple, maxChoices: full.maxChoices, scopeUnitIds: [full.scopeUnitId], basis: full.basis, ...ruleOf(full.rule), secret: full.secret, changeable: full.changeable, closesAt: closesAt(ctx, full.days), topicId: d.topicId },
            ctx.now,
          );
          await openConsultation(ctx.uow, ctx.person.id, c.id, ctx.now, lifecycleDeps(ctx.config));
          ctx.reply({ text: t(ctx).created({ title: c.title, id: c.id }) });
        } catch (err) {
          if (!(err instanceof ConsultationError)) throw err;
          ctx.reply({ text: refusalText(ctx.t, err) });
        }
        return { done: true, silent: true };
      }),
    },
  };
}
