import type { Flow } from '../dialog/flow.js';
import { createConfirmHoursFlow } from '../volunteers/confirm-flow.js';
import { createVolunteerFlows } from '../volunteers/flows.js';
import { createActivityCreateFlow } from './create-flow.js';
import { createActivityManageFlow } from './manage-flow.js';
import type { ActivitySettings } from './create.js';
import { createResidentActivityFlows } from './resident-flows.js';
import type { SeatClaims } from './seat-batch.js';

/** Every chat flow of 幸福学堂 and 志愿服务: residents' (browse, sign up, mine, check-in), volunteers', staff's (create, manage); `seats`: the process's group commit of sign-ups. */
export function createActivityFlows(settings: ActivitySettings, opts: { seats?: SeatClaims } = {}): Flow[] {
  return [...createResidentActivityFlows({ timeZone: settings.timeZone, seats: opts.seats }), createActivityCreateFlow(settings), createActivityManageFlow({ timeZone: settings.timeZone }), ...createVolunteerFlows({ timeZone: settings.timeZone }), createConfirmHoursFlow({ timeZone: settings.timeZone })];
}
