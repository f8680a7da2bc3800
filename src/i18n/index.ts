import type { Locale } from '../config.js';
import { pick } from './catalog.js';
import { activities } from './activities.js';
import { activityStaff } from './activity-staff.js';
import { cases } from './cases.js';
import { common } from './common.js';
import { consultations } from './consultations.js';
import { consultationPaper } from './consultation-paper.js';
import { consultationStaff } from './consultation-staff.js';
import { dialog } from './dialog.js';
import { linking } from './linking.js';
import { notices } from './notices.js';
import { onboarding } from './onboarding.js';
import { privacy } from './privacy.js';
import { report } from './report.js';
import { staff } from './staff.js';
import { timeline } from './timeline.js';
import { volunteers } from './volunteers.js';
import { webchat } from './webchat.js';

/**
 * All user-facing text. Each module keeps its own catalogue file beside this one
 * (`src/i18n/<module>.ts`, made with defineMessages) and registers it here.
 */
const catalogues = { activities, activityStaff, cases, common, consultations, consultationPaper, consultationStaff, dialog, linking, notices, onboarding, privacy, report, staff, timeline, volunteers, webchat } as const;

export type Messages = { [K in keyof typeof catalogues]: ReturnType<typeof pick<(typeof catalogues)[K]['zh-CN']>> };

/** The messages for one locale: `messages('ko').common.apology`. */
export function messages(locale: Locale): Messages {
  const out: Record<string, unknown> = {};
  for (const [name, catalogue] of Object.entries(catalogues)) out[name] = pick(catalogue as any, locale);
  return out as Messages;
}

export { defineMessages } from './catalog.js';
