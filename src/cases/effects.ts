import type { Locale } from '../config.js';
import type { Say } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';

/**
 * What case commands hand back besides their writes: messages go to the outbox in the same
 * transaction (via `notify`), timers are handed over for after the commit.
 */

export type CaseTimer =
  | { kind: 'route'; caseId: string }
  /**
   * One timer per deadline: it wakes at each reminder time (`remindAt`, reminding whoever holds
   * the case) and then at the deadline itself (escalation, or 默认满意 for a resolved case).
   */
  | { kind: 'escalate'; caseId: string; seq: number; at: Date; remindAt?: Date[] };

export type Notice = { personId: string; build: (t: Messages, locale: Locale) => Say };

export interface Effects {
  notify(personId: string, build: (t: Messages, locale: Locale) => Say): Promise<void>;
  /** Many messages in one go (a routing batch), in order. */
  notifyAll(notices: readonly Notice[]): Promise<void>;
  schedule(timer: CaseTimer): void;
}

export interface CaseSettings {
  /** CASE_DEADLINE_SCALE: multiplies every deadline (drills, tests). */
  deadlineScale: number;
  /** CASE_AUTO_CLOSE_DAYS: unrated resolved cases close as 默认满意 after this many days. */
  autoCloseDays: number;
}

/** A photo as the photo store returned it (src/photos/store.ts storePhoto), for case_photos. */
export type CasePhotoInput = { storageKey: string; mimeType: string; bytes: number; sha256: string; thumbnailKey?: string | null };
