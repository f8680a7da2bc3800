import { z } from 'zod';
import { orgUnits } from '../../db/schema/index.js';
import { anyOf } from '../../db/sql.js';
import { outermostScopes } from '../audience/audience.js';
import type { InboundPayload } from '../dialog/events.js';
import type { FlowContext, StepHandler, StepOutcome } from '../dialog/flow.js';
import { childUnits, getUnit } from '../org/tree.js';
import { checkScopes, reachRoots, scopedAssignments, type ScopeRefusal } from '../staff/scope.js';
import { areaPress, COMPOSE, scopePress } from './buttons.js';
import { isAudienceScopeKind, MAX_SCOPES } from '../audience/scopes.js';

/**
 * 发布通知's first part: one or more areas (发送范围). Each pick is checked against the staff
 * member's scope (role × area) on its own, so a refused pick says why and leaves the others;
 * overlapping picks are kept as their outermost units (a building inside a picked community is
 * already covered), so the preview and the fan-out see each household once. 发起协商 picks its
 * 投票范围 with the same picker, in its own words.
 */

const unitId = z.number().int().positive();
const picked = z.array(unitId).max(MAX_SCOPES);
/** The scope step: the unit being browsed and the areas picked so far. */
const browsing = z.object({ at: unitId, picked: picked.default([]) });
/** The "another area, or done?" step. */
const choosing = z.object({ picked: picked.min(1) });

const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);

/** What the picker says: the notice flow's words unless a flow passes its own. */
export interface AreaPickerWords {
  pickScope: (p: { area: string }) => string;
  scopeAll: (p: { area: string }) => string;
  areasPicked: (p: { areas: string }) => string;
  addArea: string;
  areasDone: string;
  /** Why a pick is refused (`area`: the unit's name), or why there is nothing to pick from. */
  refused: (reason: ScopeRefusal | 'no_such_unit', area: string) => string;
}

const noticeWords = (ctx: FlowContext): AreaPickerWords => {
  const t = ctx.t.notices;
  return { ...t, refused: (reason, area) => (reason === 'outside_area' ? t.refused_outside_area({ area }) : t[`refused_${reason}`]) };
};

/** The picked areas' names, in pick order, joined the way the catalogue lists things. */
export async function areaNames(ctx: FlowContext, ids: readonly number[]): Promise<string> {
  const units = ids.length ? await ctx.tx.select({ id: orgUnits.id, name: orgUnits.name }).from(orgUnits).where(anyOf(orgUnits.id, ids)) : [];
  return ids.map((id) => units.find((u) => u.id === id)?.name ?? '').join(ctx.t.notices.areaJoin);
}

export function createAreaPicker(onDone: (ctx: FlowContext, scopeUnitIds: number[]) => Promise<StepOutcome>, wordsOf: (ctx: FlowContext) => AreaPickerWords = noticeWords) {
  async function showScope(ctx: FlowContext, at: number, chosen: number[]): Promise<StepOutcome> {
    const t = wordsOf(ctx);
    const unit = await getUnit(ctx.tx, at);
    if (!unit) return { done: true };
    const children = (await childUnits(ctx.tx, at)).filter((u) => isAudienceScopeKind(u.kind)).slice(0, 18);
    ctx.reply({
      text: t.pickScope({ area: unit.name }),
      choices: [{ id: COMPOSE.pick(unit.id), label: t.scopeAll({ area: unit.name }) }, ...children.map((c) => ({ id: COMPOSE.into(c.id), label: `${c.name} ›` }))],
    });
    return { next: 'scope', data: { at, picked: chosen } };
  }

  /** Where every round of picking starts: the staff member's own units (one: straight into it). */
  async function showRoots(ctx: FlowContext, chosen: number[]): Promise<StepOutcome> {
    const roots = reachRoots(await scopedAssignments(ctx.tx, ctx.person.id));
    if (roots.length === 0) {
      ctx.reply({ text: wordsOf(ctx).refused(ctx.person.staff.length ? 'on_leave' : 'not_staff', '') });
      return { done: true };
    }
    if (roots.length === 1) return showScope(ctx, roots[0]!.id, chosen);
    const units = await Promise.all(roots.map((r) => getUnit(ctx.tx, r.id)));
    ctx.reply({ text: wordsOf(ctx).pickScope({ area: '' }).trim(), choices: units.flatMap((u) => (u ? [{ id: COMPOSE.into(u.id), label: `${u.name} ›` }] : [])) });
    return { next: 'scope', data: { at: roots[0]!.id, picked: chosen } };
  }

  async function askMore(ctx: FlowContext, chosen: number[]): Promise<StepOutcome> {
    const t = wordsOf(ctx);
    const more = chosen.length < MAX_SCOPES ? [{ id: COMPOSE.moreAreas, label: t.addArea }] : [];
    ctx.reply({ text: t.areasPicked({ areas: await areaNames(ctx, chosen) }), choices: [...more, { id: COMPOSE.areasDone, label: t.areasDone }] });
    return { next: 'scopeMore', data: { picked: chosen } };
  }

  /** The picks so far plus `id`, reduced to the outermost units (in pick order). */
  async function withPick(ctx: FlowContext, chosen: number[], id: number): Promise<number[]> {
    const ids = [...chosen, id];
    const units = await ctx.tx.select({ id: orgUnits.id, path: orgUnits.path }).from(orgUnits).where(anyOf(orgUnits.id, ids));
    const byId = new Map(units.map((u) => [u.id, u]));
    return outermostScopes(ids.flatMap((i) => byId.get(i) ?? [])).map((u) => u.id);
  }

  const scope: StepHandler = async (ctx, input, raw) => {
    const { at, picked: chosen } = browsing.parse(raw);
    const press = scopePress.safeParse(choiceOf(input));
    if (!press.success) return showScope(ctx, at, chosen);
    const id = 'pick' in press.data ? press.data.pick : press.data.into;
    const decision = await checkScopes(ctx.tx, ctx.person.id, [id]);
    if (!decision.ok) {
      // Refused with the reason; the areas picked so far stay, and picking goes on where it was.
      ctx.reply({ text: wordsOf(ctx).refused(decision.reason, decision.reason === 'outside_area' ? ((await getUnit(ctx.tx, id))?.name ?? '') : '') });
      return showScope(ctx, at, chosen);
    }
    if ('into' in press.data) return showScope(ctx, id, chosen);
    const next = await withPick(ctx, chosen, id);
    if (next.length > MAX_SCOPES) return askMore(ctx, chosen);
    return askMore(ctx, next);
  };

  const scopeMore: StepHandler = async (ctx, input, raw) => {
    const { picked: chosen } = choosing.parse(raw);
    const press = areaPress.safeParse(choiceOf(input));
    if (!press.success) return askMore(ctx, chosen);
    if (press.data === 'more' && chosen.length < MAX_SCOPES) return showRoots(ctx, chosen);
    return press.data === 'done' ? onDone(ctx, chosen) : askMore(ctx, chosen);
  };

  return { start: (ctx: FlowContext) => showRoots(ctx, []), steps: { scope, scopeMore } };
}
