import { z } from 'zod';
import type { InboundPayload } from '../dialog/events.js';
import type { FlowContext } from '../dialog/flow.js';
import { categoriesFor, categoryName } from './queries.js';

/** What a case description must be: a few words at least, not an essay. */
export const DESCRIPTION_MAX = 1000;
export const caseDescription = z.string().trim().min(4).max(DESCRIPTION_MAX);

/**
 * The description step shared by the resident's report and the desk: the text if it will do,
 * otherwise undefined after asking for a little more.
 */
export function readDescription(ctx: FlowContext, input: InboundPayload): string | undefined {
  const text = input.kind === 'text' ? input.text.trim() : '';
  // Too long is not thrown away: the first part is kept and the resident is told.
  if (text.length > DESCRIPTION_MAX) {
    ctx.reply({ text: ctx.t.report.tooLongKept({ max: DESCRIPTION_MAX }) });
    return text.slice(0, DESCRIPTION_MAX);
  }
  const parsed = caseDescription.safeParse(text);
  if (parsed.success) return parsed.data;
  ctx.reply({ text: ctx.t.cases.descriptionTooShort });
  return undefined;
}

/**
 * The category step shared by the resident's report and the desk: the community's catalogue as
 * choices whose ids start with `prefix` (each flow its own, so a stale button from one flow is
 * not read by the other). False, after saying so, when the community has no categories.
 */
export async function offerCategories(ctx: FlowContext, communityId: number, prefix: string): Promise<boolean> {
  const cats = await categoriesFor(ctx.tx, communityId);
  if (!cats.length) {
    ctx.reply({ text: ctx.t.cases.noCategories });
    return false;
  }
  ctx.reply({ text: ctx.t.cases.pickCategory, choices: cats.map((c) => ({ id: `${prefix}:${c.id}`, label: categoryName(c.names, ctx.person.locale) })) });
  return true;
}

/** The category chosen from offerCategories, if it is one of the community's (still active). */
export async function chosenCategory(ctx: FlowContext, input: InboundPayload, communityId: number, prefix: string): Promise<number | undefined> {
  if (input.kind !== 'choice' || !input.choice.startsWith(`${prefix}:`)) return undefined;
  const id = Number(input.choice.slice(prefix.length + 1));
  const cats = await categoriesFor(ctx.tx, communityId);
  return cats.some((c) => c.id === id) ? id : undefined;
}
