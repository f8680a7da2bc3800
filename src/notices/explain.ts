import type { FlowContext, StepOutcome } from '../dialog/flow.js';
import { getUnit } from '../org/tree.js';
import { NoticeError, type NoticeErrorReason } from './commands.js';
import type { Messages } from '../i18n/index.js';

/** A NoticeError in the person's language (with the area it is about); anything else is a bug. */
export async function refusalText(t: Messages['notices'], err: NoticeError, areaName: () => Promise<string>): Promise<string> {
  const reason: NoticeErrorReason = err.reason;
  switch (reason) {
    case 'outside_area':
      return t.refused_outside_area({ area: await areaName() });
    case 'status':
      return t.refused_status({ status: err.detail.status ? t[`status_${err.detail.status}`] : '' });
    default:
      return t[`refused_${reason}`];
  }
}

export async function explainRefusal(ctx: FlowContext, err: unknown): Promise<StepOutcome> {
  if (!(err instanceof NoticeError)) throw err;
  const unitId = err.detail.unitId;
  ctx.reply({ text: await refusalText(ctx.t.notices, err, async () => (unitId ? ((await getUnit(ctx.tx, unitId))?.name ?? '') : '')) });
  return { done: true };
}
