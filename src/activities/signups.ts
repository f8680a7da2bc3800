import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { activitySignups, afterSchoolChildren } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { localDateTime } from '../org/time.js';
import type { UnitOfWork } from '../work/unit.js';
import { offerChoices } from './buttons.js';
import { ActivityError } from './errors.js';
import { holdsSeat, nextOffers, offerExpiry, seatFor, signupOpen } from './rules.js';
import { addTaken, lockSession, readSession, type LockedSession } from './session-lock.js';
import { OFFER_TIMER } from './timers.js';

export type SignupRow = typeof activitySignups.$inferSelect;

/** 四点半课堂: the child and who picks them up (a minor's data, kept apart, deleted at term end). */
export const childSchema = z.object({
  childName: z.string().trim().min(1).max(20),
  childGrade: z.string().trim().max(20).optional(),
  guardianName: z.string().trim().min(1).max(20),
  guardianPhone: z.string().trim().regex(/^\+?[0-9 -]{7,20}$/),
});
export type ChildInput = z.input<typeof childSchema>;

export const signupInputSchema = z.object({
  sessionId: z.uuid(),
  personId: z.uuid(),
  /** A household member taking part (default: the person). */
  participantId: z.uuid().optional(),
  child: childSchema.optional(),
});
export type SignupInput = z.input<typeof signupInputSchema>;

export interface SignupResult {
  signupId: string;
  status: 'confirmed' | 'waiting';
  /** Place in the waiting list (1 = next), when waiting. */
  position?: number;
}

/** Only the session's time zone matters to the messages; passed by the caller's config. */
export interface SignupSettings {
  timeZone: string;
}

/**
 * 报名: a seat while there is one, else the waiting list, in arrival order. Everything that needs
 * no lock is checked first; then the session's row lock is taken for the seat alone (lock, one
 * insert that also moves the counter, the message), so 200 at once for 50 seats make exactly 50
 * confirmed and 150 waiting, and the lock is held as briefly as the seat needs.
 */
export async function signUp(uow: UnitOfWork, input: SignupInput, now: Date, settings: SignupSettings): Promise<SignupResult> {
  const { sessionId, personId, participantId = input.personId, child } = signupInputSchema.parse(input);
  const tx = uow.tx;
  const seen = await readSession(tx, sessionId);
  const open = signupOpen(seen.activity, seen, now);
  if (open !== 'open') throw new ActivityError(open);
  if (seen.activity.kind === 'after_school' && !child) throw new ActivityError('child_required');
  await mustBeInScope(tx, seen.activity.id, personId, participantId, sessionId);

  const session = await lockSession(tx, sessionId);
  const status = seatFor(session);
  const [row] = (await tx.execute(sql`
    with ins as (
      insert into activity_signups (session_id, person_id, participant_id, status, created_at, updated_at)
      values (${sessionId}, ${personId}, ${participantId}, ${status}, ${now.toISOString()}, ${now.toISOString()})
      returning id, arrival
    ), seat as (
      update activity_sessions set taken = taken + 1 where id = ${sessionId} and ${status === 'confirmed' ? sql`true` : sql`false`} returning 1
    )
    select id, arrival, (select count(*) from seat)::int as seated,
      (select count(*)::int from activity_signups w where w.session_id = ${sessionId} and w.status = 'waiting') as waiting_before
    from ins`)) as unknown as { id: string; arrival: number; waiting_before: number }[];
  const signupId = row!.id;
  if (child && session.activity.kind === 'after_school') {
    await tx.insert(afterSchoolChildren).values({ signupId, activityId: session.activity.id, ...child, childGrade: child.childGrade ?? null });
    await recordAudit(tx, { actorId: personId, action: 'activity.minor.record', subjectType: 'activity_signup', subjectId: signupId });
  }
  const when = localDateTime(session.startsAt, settings.timeZone);
  if (status === 'confirmed') {
    await uow.notify(personId, (t) => ({ text: t.activities.signedUp({ title: session.activity.title, when, place: placeOf(session) }) }));
    return { signupId, status };
  }
  // Under the lock every earlier waiting sign-up has committed (the new row is not in the statement's snapshot).
  const position = row!.waiting_before + 1;
  await uow.notify(personId, (t) => ({ text: t.activities.waiting({ title: session.activity.title, when, position }) }));
  return { signupId, status, position };
}

const placeOf = (s: LockedSession) => [s.activity.venue, s.activity.link].filter(Boolean).join(' / ');

/**
 * The person lives under one of the activity's scopes, a participant other than them lives in the
 * same household, and the participant has no live sign-up for the session yet (the partial unique
 * index backs this against a double tap racing it).
 */
async function mustBeInScope(tx: Tx, activityId: string, personId: string, participantId: string, sessionId: string): Promise<void> {
  const rows = (await tx.execute(sql`
    select p.id, p.household_id,
      exists (select 1 from activity_scopes sc join org_units su on su.id = sc.org_unit_id join org_units h on h.id = p.household_id
              where sc.activity_id = ${activityId} and h.path like su.path || '%') as in_scope,
      exists (select 1 from activity_signups g where g.session_id = ${sessionId} and g.participant_id = p.id and g.status <> 'cancelled') as signed_up
    from people p where p.id in (${personId}, ${participantId}) and p.household_status = 'bound'`)) as unknown as { id: string; household_id: number | null; in_scope: boolean; signed_up: boolean }[];
  const me = rows.find((r) => r.id === personId);
  if (!me || !me.in_scope) throw new ActivityError('outside_scope');
  const participant = participantId === personId ? me : rows.find((r) => r.id === participantId);
  if (!participant || participant.household_id !== me.household_id) throw new ActivityError('not_household');
  if (participant.signed_up) throw new ActivityError('already_signed_up');
}

/** Locks a sign-up under its session's lock (session first, always: one lock order, no deadlocks). */
async function lockSignup(tx: Tx, signupId: string): Promise<{ session: LockedSession; signup: SignupRow } | undefined> {
  const [peek] = await tx.select({ sessionId: activitySignups.sessionId }).from(activitySignups).where(eq(activitySignups.id, signupId));
  if (!peek) return undefined;
  const session = await lockSession(tx, peek.sessionId);
  const [signup] = await tx.select().from(activitySignups).where(eq(activitySignups.id, signupId)).for('update');
  return signup ? { session, signup } : undefined;
}

/** 取消报名: the seat is freed and offered to the next person waiting. */
export async function cancelSignup(uow: UnitOfWork, signupId: string, personId: string, now: Date, settings: SignupSettings): Promise<{ cancelled: boolean }> {
  const locked = await lockSignup(uow.tx, signupId);
  if (!locked || locked.signup.personId !== personId) throw new ActivityError('not_signed_up');
  if (locked.signup.status === 'cancelled') return { cancelled: false };
  await giveUp(uow, locked, leaveReason(locked.signup.status), now, settings);
  await uow.notify(personId, (t) => ({ text: t.activities.cancelled({ title: locked.session.activity.title }) }));
  return { cancelled: true };
}

/** Leaving of one's own accord: an offer is declined, anything else cancelled. */
const leaveReason = (status: SignupRow['status']) => (status === 'offered' ? 'offer_declined' : 'self');

/**
 * 删除我的数据: a live sign-up is given up exactly as `cancelSignup` gives it up (a seat held passes
 * to the next in line, an offer as on decline), without a word to the person who is leaving.
 * False when it was already cancelled or is gone.
 */
export async function releaseSignup(uow: UnitOfWork, signupId: string, now: Date, settings: SignupSettings): Promise<boolean> {
  const locked = await lockSignup(uow.tx, signupId);
  if (!locked || locked.signup.status === 'cancelled') return false;
  await giveUp(uow, locked, leaveReason(locked.signup.status), now, settings);
  return true;
}

/** A sign-up leaves: its seat (if it held one) goes to the next in line. */
async function giveUp(uow: UnitOfWork, { session, signup }: { session: LockedSession; signup: SignupRow }, reason: NonNullable<SignupRow['cancelReason']>, now: Date, settings: SignupSettings): Promise<void> {
  await uow.tx
    .update(activitySignups)
    .set({ status: 'cancelled', cancelReason: reason, offerExpiresAt: null, updatedAt: now })
    .where(eq(activitySignups.id, signup.id));
  if (signup.status === 'offered') await uow.timers.cancel({ kind: OFFER_TIMER, subjectId: signup.id });
  if (holdsSeat(signup.status)) {
    await addTaken(uow.tx, session.id, -1);
    await offerFreeSeats(uow, { ...session, taken: session.taken - 1 }, now, settings);
  }
}

/**
 * 候补递补: free seats go to the earliest waiting sign-ups, each held for the activity's offer
 * time (pretix-style) by an offer timer; nobody is offered a seat once the session has started.
 */
export async function offerFreeSeats(uow: UnitOfWork, session: LockedSession, now: Date, settings: SignupSettings): Promise<number> {
  const free = session.capacity - session.taken;
  if (free <= 0 || now >= session.startsAt) return 0;
  const waiting = await uow.tx
    .select({ id: activitySignups.id, arrival: activitySignups.arrival, personId: activitySignups.personId, offerSeq: activitySignups.offerSeq })
    .from(activitySignups)
    .where(and(eq(activitySignups.sessionId, session.id), eq(activitySignups.status, 'waiting')))
    .orderBy(asc(activitySignups.arrival))
    .limit(free)
    .for('update');
  // A waiting sign-up always has its person (erasure gives up every live one): the filter only narrows the type.
  const offers = nextOffers(waiting.flatMap((w) => (w.personId ? [{ ...w, personId: w.personId }] : [])), free);
  if (offers.length === 0) return 0;
  const expiresAt = offerExpiry(now, session.activity.offerMinutes, session.startsAt);
  const until = localDateTime(expiresAt, settings.timeZone);
  const when = localDateTime(session.startsAt, settings.timeZone);
  for (const o of offers) {
    await uow.tx.update(activitySignups).set({ status: 'offered', offerSeq: o.offerSeq + 1, offerExpiresAt: expiresAt, updatedAt: now }).where(eq(activitySignups.id, o.id));
    await uow.timers.set({ kind: OFFER_TIMER, subjectId: o.id, seq: o.offerSeq + 1, dueAt: expiresAt });
  }
  await addTaken(uow.tx, session.id, offers.length);
  await uow.notifyAll(
    offers.map((o) => ({ personId: o.personId, build: (t) => ({ text: t.activities.offered({ title: session.activity.title, when, until }), choices: offerChoices(t, o.id) }) })),
    { priority: 'conversation' },
  );
  return offers.length;
}

/** 确认候补名额: the offered seat becomes theirs if the offer still stands; a lapsed one passes on. */
export async function confirmOffer(uow: UnitOfWork, signupId: string, personId: string, now: Date, settings: SignupSettings): Promise<'confirmed' | 'lapsed'> {
  const locked = await lockSignup(uow.tx, signupId);
  if (!locked || locked.signup.personId !== personId) throw new ActivityError('not_signed_up');
  const { signup, session } = locked;
  if (signup.status === 'confirmed') return 'confirmed';
  if (signup.status !== 'offered') throw new ActivityError('no_offer');
  if (signup.offerExpiresAt && signup.offerExpiresAt <= now) {
    await giveUp(uow, locked, 'offer_expired', now, settings);
    await uow.notify(personId, (t) => ({ text: t.activities.offerLapsed({ title: session.activity.title }) }));
    return 'lapsed';
  }
  await uow.tx.update(activitySignups).set({ status: 'confirmed', offerExpiresAt: null, updatedAt: now }).where(eq(activitySignups.id, signupId));
  await uow.timers.cancel({ kind: OFFER_TIMER, subjectId: signupId });
  await uow.notify(personId, (t) => ({ text: t.activities.signedUp({ title: session.activity.title, when: localDateTime(session.startsAt, settings.timeZone), place: placeOf(session) }) }));
  return 'confirmed';
}

/**
 * The offer timer fired: an offer still unanswered (this offer, not a later one) lapses and passes
 * on to the next person waiting. Idempotent: a confirmed, cancelled or re-offered sign-up is left alone.
 */
export async function expireOffer(uow: UnitOfWork, signupId: string, seq: number, now: Date, settings: SignupSettings): Promise<'expired' | 'stale' | { notYet: Date }> {
  const locked = await lockSignup(uow.tx, signupId);
  if (!locked || locked.signup.status !== 'offered' || locked.signup.offerSeq !== seq) return 'stale';
  if (locked.signup.offerExpiresAt && locked.signup.offerExpiresAt > now) return { notYet: locked.signup.offerExpiresAt };
  await giveUp(uow, locked, 'offer_expired', now, settings);
  if (locked.signup.personId) await uow.notify(locked.signup.personId, (t) => ({ text: t.activities.offerLapsed({ title: locked.session.activity.title }) }));
  return 'expired';
}

/** A household member (for signing up someone else): bound to the same household. */
export async function householdMembers(tx: Tx, personId: string): Promise<{ id: string; displayName: string | null }[]> {
  const rows = (await tx.execute(sql`
    select o.id, o.display_name from people me join people o on o.household_id = me.household_id and o.household_status = 'bound' and o.erased_at is null
    where me.id = ${personId} and me.household_id is not null order by o.created_at`)) as unknown as { id: string; display_name: string | null }[];
  return rows.map((r) => ({ id: r.id, displayName: r.display_name }));
}

