import type { Flow } from '../dialog/flow.js';
import type { FirstBallots } from './first-ballot.js';
import { createConsultationCreateFlow } from './create-flow.js';
import { createConsultationManageFlows } from './manage-flow.js';
import { createPaperBallotFlow } from './paper-flow.js';
import { createTopicFlow } from './topic-flow.js';
import { createVoteFlows } from './vote-flow.js';

/** Every chat flow of 社区协商: residents' (vote, receipt, topics) and staff's (create, manage: turnout, close early, publish; paper and proxy ballots); `firstBallots`: the process's group commit of first ballots. */
export function createConsultationFlows(opts: { firstBallots?: FirstBallots } = {}): Flow[] {
  return [...createVoteFlows({ firstBallots: opts.firstBallots }), createTopicFlow(), createConsultationCreateFlow(), ...createConsultationManageFlows(), createPaperBallotFlow()];
}
