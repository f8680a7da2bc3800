import type { FlowContext, StepOutcome } from '../dialog/flow.js';
import type { UnitOfWork } from '../work/unit.js';

/**
 * Runs a chat command in a savepoint: a refusal part-way leaves nothing behind and becomes its
 * message to the person (`explain` maps the module's typed error; anything else is rethrown to
 * the engine's error boundary). The flow ends either way, back at the menu.
 */
export async function attempt(ctx: FlowContext, run: (uow: UnitOfWork) => Promise<unknown>, explain: (err: unknown) => string | undefined): Promise<StepOutcome> {
  try {
    await ctx.uow.savepoint(run);
  } catch (err) {
    const text = explain(err);
    if (text === undefined) throw err;
    ctx.reply({ text });
  }
  return { done: true, silent: true };
}
