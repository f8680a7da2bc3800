import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { activitySignups, afterSchoolChildren } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import { localDateTime } from '../org/time.js';
import type { UnitOfWork } from '../work/unit.js';
import { offerChoices } from './buttons.js';
import { ActivityError } from './errors.js';
import { LOCALES } from '../config.js';
import { replySchema } from '../dialog/reply.js';
import { messages } from '../i18n/index.js';
import { holdsSeat, nextOffers, offerExpiry } from './rules.js';
import type { SeatClaims } from './seat-batch.js';
import { claimSeats, type SeatClaim, type SessionTexts } from './seat-claim.js';
import { addTaken, lockSession, type LockedSession } from './session-lock.js';
import { sessionFacts, type SessionFacts } from './signup-facts.js';
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

export type SignupResult = SeatClaim;

/** The session's time zone for the messages, passed by the caller's config; the app's group commit of seats. */
export interface SignupSettings {
  timeZone: string;
  seats?: SeatClaims;
}

/**
 * 报名: a seat while there is one, else the waiting list, in arrival order, checked, claimed and
 * told in ONE round trip under the session's row lock (seat-claim.ts), so 200 at once for 50
 * seats make exactly 50 confirmed and 150 waiting, each told their true place. The texts of both
 * outcomes are written out first, in every language, from the session's facts (signup-facts.ts);
 * the claim writes nothing if those facts changed since, and they are read again. With
 * `settings.seats` (the app's) this is done by the group commit for all the sign-ups arriving at
 * the same time (seat-batch.ts), outside the caller's transaction, which the sign-up leaves
 * untouched; it is committed, with its message, when this resolves. A 四点半课堂 sign-up (the
 * child's record and its audit row go with its seat) and a caller without it claim in the
 * caller's transaction.
 */
export async function signUp(uow: UnitOfWork, input: SignupInput, now: Date, settings: SignupSettings): Promise<SignupResult> {
  const { sessionId, personId, participantId = input.personId, child } = signupInputSchema.parse(input);
  const request = { personId, participantId, at: now };
  const texts = (facts: SessionFacts) => sessionTexts(facts, settings.timeZone);
  if (settings.seats && !child) return claimedOr(await settings.seats.signUp({ sessionId, request, texts }));
  const tx = uow.tx;
  for (let attempt = 1; ; attempt++) {
    const [facts] = await sessionFacts(tx, [sessionId]);
    if (!facts) throw new ActivityError('not_found');
    const here = await claimSeats(tx, texts(facts), [request], { withChild: child !== undefined });
    if (here.stale && attempt < 3) continue;
    if (here.stale) throw new Error(`session ${sessionId} changed under every claim`);
    uow.adopt(here.messages);
    const claimed = claimedOr(here.claims[0]);
    const withChild = child && facts.activity.kind === 'after_school' ? child : undefined;
    if (withChild) {
      await tx.insert(afterSchoolChildren).values({ signupId: claimed.signupId, activityId: facts.activity.id, ...withChild, childGrade: withChild.childGrade ?? null });
      await recordAudit(tx, { actorId: personId, action: 'activity.minor.record', subjectType: 'activity_signup', subjectId: claimed.signupId });
    }
    return claimed;
  }
}

/** A refusal is thrown; nothing written means the participant has a live sign-up already (a double tap, a retried update). */
function claimedOr(claimed: SeatClaim | ActivityError | undefined): SeatClaim {
  if (claimed instanceof ActivityError) throw claimed;
  if (!claimed) throw new ActivityError('already_signed_up');
  return claimed;
}

/** The texts of a session's sign-ups: confirmed and waiting, in every language. */
export function sessionTexts(facts: SessionFacts, timeZone: string): SessionTexts {
  const { activity } = facts;
  const when = localDateTime(facts.startsAt, timeZone);
  const texts = LOCALES.flatMap((locale) => {
    const t = messages(locale);
    const waiting = waitingText((position) => t.activities.waiting({ title: activity.title, when, position }));
    return [
      { locale, status: 'confirmed' as const, payload: replySchema.parse({ text: t.activities.signedUp({ title: activity.title, when, place: placeOf(activity) }), locale }) },
      { locale, status: 'waiting' as const, payload: replySchema.parse({ text: waiting.text, locale }), mark: waiting.mark },
    ];
  });
  return { sessionId: facts.sessionId, shown: facts.shown, texts };
}

/**
 * The waiting-list text with a mark standing for the place in line, filled in under the lock
 * (seat-claim.ts). The mark is a number no real place reaches, and one the rest of the text
 * (a title, a time) does not show, so only the place is replaced.
 */
function waitingText(text: (position: number) => string): { text: string; mark: string } {
  for (let position = 987_654_321; position < 987_654_331; position++) {
    const shown = text(position);
    const mark = String(position);
    if (shown.split(mark).length === 2) return { text: shown, mark };
  }
  throw new Error('the waiting-list message must show the place in line as a plain number');
}

const placeOf = (a: { venue: string | null; link: string | null }) => [a.venue, a.link].filter(Boolean).join(' / ');

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
  await uow.notify(personId, (t) => ({ text: t.activities.signedUp({ title: session.activity.title, when: localDateTime(session.startsAt, settings.timeZone), place: placeOf(session.activity) }) }));
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

