import type { Flow } from '../dialog/flow.js';
import { staffBindingFlow } from '../staff/binding.js';
import { householdFlow, languageFlow, onboardingFlow } from './onboarding.js';
import { privacyFlow } from './privacy.js';

/** The flows of the foundation: onboarding, language, household binding, privacy, staff binding. */
export const residentFlows: Flow[] = [onboardingFlow, languageFlow, householdFlow, privacyFlow, staffBindingFlow];
