import { z } from 'zod';
import type { InboundPayload } from '../dialog/events.js';
import type { FlowContext } from '../dialog/flow.js';

/** What a case description must be: a few words at least, not an essay. */
export const caseDescription = z.string().trim().min(4).max(1000);

/**
 * The description step shared by the resident's report and the desk: the text if it will do,
 * otherwise undefined after asking for a little more.
 */
export function readDescription(ctx: FlowContext, input: InboundPayload): string | undefined {
  const parsed = caseDescription.safeParse(input.kind === 'text' ? input.text : '');
  if (parsed.success) return parsed.data;
  ctx.reply({ text: ctx.t.cases.descriptionTooShort });
  return undefined;
}
