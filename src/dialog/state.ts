import { and, eq, isNull } from 'drizzle-orm';
import { channelIdentities, consents, dialogStates, people, staffAssignments } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { InboundEvent } from './events.js';
import type { IdentityView, PersonView, Say } from './flow.js';
import type { Choice } from './reply.js';

/** One step the person has been through in the current flow, for 返回. */
export interface HistoryEntry {
  step: string;
  data: Record<string, unknown>;
  prompts: Say[];
}

/** The engine's saved state for one chat. `flow: 'menu', step: 'idle'` means no flow is running. */
export interface SavedState {
  flow: string;
  step: string;
  data: Record<string, unknown>;
  /** The prompts shown when this step was entered, re-sent when 返回 comes back to it. */
  prompts: Say[];
  history: HistoryEntry[];
}

export const IDLE_FLOW = 'menu';
export const IDLE_STEP = 'idle';
export const HISTORY_LIMIT = 10;

export function idle(): SavedState {
  return { flow: IDLE_FLOW, step: IDLE_STEP, data: {}, prompts: [], history: [] };
}

export function isIdle(state: SavedState): boolean {
  return state.flow === IDLE_FLOW && state.step === IDLE_STEP;
}

// The engine's own bookkeeping lives in dialog_states.data under reserved keys, beside the flow's data.
const PROMPTS_KEY = '__prompts';
const HISTORY_KEY = '__history';

export function toState(row: typeof dialogStates.$inferSelect | undefined): SavedState {
  if (!row) return idle();
  const { [PROMPTS_KEY]: prompts, [HISTORY_KEY]: history, ...data } = row.data;
  return {
    flow: row.flow,
    step: row.step,
    data,
    prompts: Array.isArray(prompts) ? (prompts as Say[]) : [],
    history: Array.isArray(history) ? (history as HistoryEntry[]) : [],
  };
}

export function toRow(identityId: string, state: SavedState, choices: Choice[]) {
  return {
    identityId,
    flow: state.flow,
    step: state.step,
    data: { ...state.data, [PROMPTS_KEY]: state.prompts, [HISTORY_KEY]: state.history.slice(-HISTORY_LIMIT) },
    choices,
    updatedAt: new Date(),
  };
}

/** Maps a platform language hint (Telegram `language_code`: `zh-hans`, `ko`, `en-US`) to a locale we speak. */
export function localeFromHint(hint: string | undefined): Locale | undefined {
  const h = hint?.trim().toLowerCase() ?? '';
  if (h === 'zh' || h.startsWith('zh-') || h.startsWith('zh_')) return 'zh-CN';
  if (h === 'ko' || h.startsWith('ko-') || h.startsWith('ko_')) return 'ko';
  if (h === 'en' || h.startsWith('en-') || h.startsWith('en_')) return 'en';
  return undefined;
}

/**
 * Finds or creates the channel identity (and, for a first message, its person). Writing again
 * means the person unblocked us, and the chat may have moved (web sessions), so both are updated.
 */
export async function upsertIdentity(
  tx: Tx,
  event: InboundEvent,
  defaultLocale: Locale,
  now: Date,
): Promise<{ identity: IdentityView; person: PersonView }> {
  const [existing] = await tx
    .select({ id: channelIdentities.id })
    .from(channelIdentities)
    .where(and(eq(channelIdentities.channel, event.channel), eq(channelIdentities.userRef, event.userRef)));
  let row: typeof channelIdentities.$inferSelect | undefined;
  if (existing) {
    [row] = await tx
      .update(channelIdentities)
      .set({ chatRef: event.chatRef, lastSeenAt: now, blockedAt: null })
      .where(eq(channelIdentities.id, existing.id))
      .returning();
  } else {
    const [person] = await tx
      .insert(people)
      .values({ locale: localeFromHint(event.languageHint) ?? defaultLocale })
      .returning({ id: people.id });
    [row] = await tx
      .insert(channelIdentities)
      .values({ personId: person!.id, channel: event.channel, userRef: event.userRef, chatRef: event.chatRef, lastSeenAt: now })
      .returning();
  }
  const identity: IdentityView = { id: row!.id, channel: row!.channel, userRef: row!.userRef, chatRef: row!.chatRef };
  return { identity, person: await loadPerson(tx, row!.personId) };
}

/** Loads what flows may know about a person. */
export async function loadPerson(tx: Tx, personId: string): Promise<PersonView> {
  const [p] = await tx.select().from(people).where(eq(people.id, personId));
  if (!p) throw new Error(`person ${personId} vanished`);
  const [consent] = await tx
    .select({ id: consents.id })
    .from(consents)
    .where(and(eq(consents.personId, personId), isNull(consents.withdrawnAt)))
    .limit(1);
  const staff = await tx
    .select({
      id: staffAssignments.id,
      role: staffAssignments.role,
      orgUnitId: staffAssignments.orgUnitId,
      subCommittee: staffAssignments.subCommittee,
      onLeave: staffAssignments.onLeave,
    })
    .from(staffAssignments)
    .where(and(eq(staffAssignments.personId, personId), eq(staffAssignments.active, true)));
  return {
    id: p.id,
    locale: p.locale,
    householdId: p.householdId,
    householdStatus: p.householdStatus,
    consented: consent !== undefined,
    staff,
  };
}
