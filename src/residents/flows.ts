import type { Flow } from '../dialog/flow.js';
import { staffBindingFlow } from '../staff/binding.js';
import { linkingFlow } from './linking.js';
import { householdFlow, languageFlow, onboardingFlow } from './onboarding.js';
import { privacyFlow } from './privacy.js';

/** The flows of the foundation: onboarding, language, household binding, privacy, account linking, staff binding. */
export const residentFlows: Flow[] = [onboardingFlow, languageFlow, householdFlow, privacyFlow, linkingFlow, staffBindingFlow];
