import type { Flow } from '../dialog/flow.js';
import { createComposeFlow, type NoticeFlowDeps } from './compose.js';
import { createManageFlows } from './manage.js';
import { createResidentNoticeFlows } from './resident-flows.js';

export type { NoticeFlowDeps };

/** Every chat flow of 通知公告: residents' (recent, 收到, settings, groups) and staff's (compose, manage). */
export function createNoticeFlows(deps: NoticeFlowDeps): Flow[] {
  return [...createResidentNoticeFlows({ timeZone: deps.quiet.timeZone }), createComposeFlow(deps), ...createManageFlows(deps)];
}
