import type { Flow } from '../dialog/flow.js';
import { createStaffBindingFlow, type StaffBoundHook } from '../staff/binding.js';
import { linkingFlow } from './linking.js';
import { householdFlow, languageFlow, onboardingFlow } from './onboarding.js';
import { privacyFlow } from './privacy.js';

/** The flows of the foundation: onboarding, language, household binding, privacy, account linking, staff binding. */
export function createResidentFlows(opts: { onStaffBound?: StaffBoundHook } = {}): Flow[] {
  return [onboardingFlow, languageFlow, householdFlow, privacyFlow, linkingFlow, createStaffBindingFlow({ onBound: opts.onStaffBound })];
}

export const residentFlows: Flow[] = createResidentFlows();
