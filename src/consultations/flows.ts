import type { Flow } from '../dialog/flow.js';
import { createConsultationCreateFlow } from './create-flow.js';
import { createConsultationManageFlows } from './manage-flow.js';
import { createPaperBallotFlow } from './paper-flow.js';
import { createTopicFlow } from './topic-flow.js';
import { createVoteFlows } from './vote-flow.js';

/** Every chat flow of 社区协商: residents' (vote, receipt, topics) and staff's (create, manage: turnout, close early, publish; paper and proxy ballots). */
export function createConsultationFlows(): Flow[] {
  return [...createVoteFlows(), createTopicFlow(), createConsultationCreateFlow(), ...createConsultationManageFlows(), createPaperBallotFlow()];
}
