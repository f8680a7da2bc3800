import type { Flow } from '../dialog/flow.js';
import { createDeskFlows } from './desk.js';
import { createFlowKit, type CaseFlowDeps } from './flow-kit.js';
import { createMineFlow } from './mine-flow.js';
import { createReportFlow } from './report-flow.js';
import { createWorkFlow } from './work-flow.js';

export { type CaseFlowDeps } from './flow-kit.js';
export { claimOnStaffBound } from './coverage.js';

/** The case flows: 报事, 我的诉求, 我的待办 with the card buttons, and the desk (一窗受理). */
export function createCaseFlows(deps: CaseFlowDeps): Flow[] {
  const kit = createFlowKit(deps);
  return [createReportFlow(kit), createMineFlow(kit), createWorkFlow(kit), ...createDeskFlows({ scheduler: deps.scheduler })];
}
