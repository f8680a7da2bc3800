import { and, eq, isNull, sql } from 'drizzle-orm';
import { channelIdentities, consents, dialogStates, people, staffAssignments } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import type { Locale } from '../config.js';
import type { InboundEvent } from './events.js';
import type { IdentityView, PersonView, Say, StaffAssignment } from './flow.js';
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
    // The turn's time on the database's clock, the one outbox.created_at is on (src/outbox/shown.ts).
    updatedAt: sql`now()`,
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
 * The start of a turn for a chat we know, in one round trip: touches the identity (last seen,
 * unblocked, the chat it now writes from), links the inbound message to it, and reads the person,
 * their consent and staff assignments and the chat's saved state. Undefined for a first message
 * (no identity yet): then upsertIdentity creates one. Must run after the chat's lock is taken, as
 * a statement of its own, so its snapshot includes what the chat's previous turn committed.
 */
export async function openTurn(
  tx: Tx,
  event: InboundEvent,
  now: Date,
): Promise<{ identity: IdentityView; person: PersonView; stateRow: typeof dialogStates.$inferSelect | undefined } | undefined> {
  const rows = (await tx.execute(sql`
    with i as (
      update channel_identities set chat_ref = ${event.chatRef}, last_seen_at = ${now.toISOString()}::timestamptz, blocked_at = null
      where channel = ${event.channel} and user_ref = ${event.userRef}
      returning id, person_id, channel, user_ref, chat_ref
    ), linked as (
      update inbound_messages set identity_id = i.id from i
      where inbound_messages.channel = ${event.channel} and inbound_messages.message_ref = ${event.messageRef}
    )
    select i.id, i.person_id, i.channel, i.user_ref, i.chat_ref,
           p.locale, p.household_id, p.household_status,
           exists (select 1 from consents c where c.person_id = p.id and c.withdrawn_at is null) as consented,
           coalesce((select json_agg(json_build_object('id', s.id, 'role', s.role, 'orgUnitId', s.org_unit_id,
                                                       'subCommittee', s.sub_committee, 'onLeave', s.on_leave) order by s.id)
                     from staff_assignments s where s.person_id = p.id and s.active), '[]'::json) as staff,
           d.flow, d.step, d.data, d.choices
    from i join people p on p.id = i.person_id
    left join dialog_states d on d.identity_id = i.id`)) as unknown as OpenedRow[];
  const r = rows[0];
  if (!r) return undefined;
  return {
    identity: { id: r.id, channel: r.channel, userRef: r.user_ref, chatRef: r.chat_ref },
    person: {
      id: r.person_id,
      locale: r.locale,
      householdId: r.household_id,
      householdStatus: r.household_status,
      consented: r.consented,
      staff: r.staff,
    },
    stateRow: r.flow === null ? undefined : { identityId: r.id, flow: r.flow, step: r.step!, data: r.data ?? {}, choices: r.choices ?? [], updatedAt: now },
  };
}

interface OpenedRow {
  id: string;
  person_id: string;
  channel: IdentityView['channel'];
  user_ref: string;
  chat_ref: string;
  locale: Locale;
  household_id: number | null;
  household_status: PersonView['householdStatus'];
  consented: boolean;
  staff: StaffAssignment[];
  flow: string | null;
  step: string | null;
  data: Record<string, unknown> | null;
  choices: Choice[] | null;
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
