import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activitySessions, activitySignups, channelIdentities, notices, outbox, timers } from '../../../db/schema/index.js';
import { createActivity } from '../../../src/activities/create.js';
import { ActivityError } from '../../../src/activities/errors.js';
import { cancelSignup, confirmOffer, expireOffer, sessionTexts, signUp } from '../../../src/activities/signups.js';
import { sessionFacts } from '../../../src/activities/signup-facts.js';
import { createSeatClaims } from '../../../src/activities/seat-batch.js';
import { claimSeats, type SeatRequest } from '../../../src/activities/seat-claim.js';
import { OFFER_TIMER } from '../../../src/activities/timers.js';
import { createLogger } from '../../../src/log.js';
import type { QueuedMessage } from '../../../src/outbox/outbox.js';
import { createWork, type AfterCommitSink, type Work } from '../../../src/work/unit.js';
import { ACTIVITY_SETTINGS, lecture, quietWork, textsFor, TZ } from '../../support/activity-fixture.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase } from '../../support/db.js';
import { connect } from '../../../db/client.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

describe('activity sign-ups, waiting list and offers (real PostgreSQL)', () => {
  let database: TestDb;
  let town: SmallTown;
  let work: Work;
  let secretary: string;
  let residents: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    work = quietWork(database);
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    residents = [];
    for (let i = 0; i < 200; i++) residents.push(await makePerson(database, { householdId: town.households[i % 3]!.id }));
  }, 120_000);
  afterAll(async () => {
    await database?.drop();
  });

  const newLecture = async (capacity: number, startsInMs = 3 * 86_400_000) => {
    const now = new Date();
    return work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, capacity, new Date(now.getTime() + startsInMs)), now, ACTIVITY_SETTINGS));
  };
  const signupsOf = (sessionId: string) =>
    database.db.select().from(activitySignups).where(eq(activitySignups.sessionId, sessionId)).orderBy(asc(activitySignups.arrival));

  it('announces a new activity through notices and arms its reminders', async () => {
    const made = await newLecture(10);
    const [n] = await database.db.select().from(notices).where(eq(notices.id, made.noticeId!));
    expect(n).toMatchObject({ category: 'activity', status: 'sending', title: '法律常识讲座' });
    expect(n!.body).toContain('王律师');
    const armed = await database.db.select({ subjectId: timers.subjectId }).from(timers).where(eq(timers.kind, 'activity-reminder'));
    expect(armed.map((t) => t.subjectId).filter((s) => s.startsWith(made.sessions[0]!.id)).sort()).toEqual([`${made.sessions[0]!.id}:1h`, `${made.sessions[0]!.id}:24h`]);
  });

  it('refuses an activity outside the creator’s area', async () => {
    const worker = await makePerson(database);
    await assign(database, worker, 'grid_worker', town.otherGrid.id);
    const now = new Date();
    await expect(work.run((uow) => createActivity(uow, worker, lecture(town.community.id, 5, new Date(now.getTime() + 86_400_000)), now, ACTIVITY_SETTINGS))).rejects.toMatchObject({ reason: 'outside_area' });
  });

  it('200 simultaneous sign-ups for 50 seats: exactly 50 confirmed, 150 waiting in arrival order', async () => {
    const made = await newLecture(50);
    const sessionId = made.sessions[0]!.id;
    const results = await Promise.all(residents.map((personId) => work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), TZ))));
    expect(results.filter((r) => r.status === 'confirmed')).toHaveLength(50);
    expect(results.filter((r) => r.status === 'waiting')).toHaveLength(150);
    const [s] = await database.db.select().from(activitySessions).where(eq(activitySessions.id, sessionId));
    expect(s).toMatchObject({ capacity: 50, taken: 50 });
    const rows = await signupsOf(sessionId);
    // Arrival order is lock order: the first 50 arrivals have the seats, the rest wait behind them.
    expect(rows.slice(0, 50).every((r) => r.status === 'confirmed')).toBe(true);
    expect(rows.slice(50).every((r) => r.status === 'waiting')).toBe(true);
    // Each waiting person was told their true place in the line.
    const positions = new Map(results.filter((r) => r.status === 'waiting').map((r) => [r.signupId, r.position]));
    expect(rows.slice(50).map((r) => positions.get(r.id))).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  }, 120_000);

  it('takes sign-ups only inside the window and before the session starts: earlier is not yet, later is closed, and neither writes a row; a window past the start or closing before it opens is refused', async () => {
    const now = new Date();
    const day = 86_400_000;
    const startsAt = new Date(now.getTime() + 5 * day);
    const window = { signupOpensAt: new Date(now.getTime() + day), signupClosesAt: new Date(now.getTime() + 3 * day) };
    const made = await work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 5, startsAt, window), now, ACTIVITY_SETTINGS));
    const sessionId = made.sessions[0]!.id;
    const seats = createSeatClaims({ url: database.url, sink: work.sink, logger: createLogger('silent') });
    try {
      const at = (ms: number) => new Date(now.getTime() + ms);
      const tryAt = (when: Date, personId: string, through?: typeof seats) =>
        work.run((uow) => signUp(uow, { sessionId, personId }, when, { ...TZ, seats: through })).then(
          (r) => r.status,
          (e: ActivityError) => e.reason,
        );
      for (const through of [undefined, seats]) {
        expect(await tryAt(at(day - 60_000), residents[0]!, through)).toBe('not_yet');
        expect(await tryAt(at(3 * day), residents[0]!, through)).toBe('closed');
      }
      expect(await signupsOf(sessionId)).toEqual([]);
      expect(await tryAt(at(day), residents[0]!)).toBe('confirmed');
      expect(await tryAt(at(2 * day), residents[1]!, seats)).toBe('confirmed');
      expect((await signupsOf(sessionId)).map((r) => r.personId)).toEqual([residents[0], residents[1]]);

      // A window closing after the start is refused; the default one closes at the start.
      await expect(
        work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 5, startsAt, { signupOpensAt: now, signupClosesAt: new Date(startsAt.getTime() + day) }), now, ACTIVITY_SETTINGS)),
      ).rejects.toMatchObject({ reason: 'signup_closes_after_start' });
      await expect(
        work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 5, startsAt, { signupOpensAt: new Date(now.getTime() + 2 * day), signupClosesAt: new Date(now.getTime() + day) }), now, ACTIVITY_SETTINGS)),
      ).rejects.toMatchObject({ reason: 'signup_closes_before_opens' });
      const late = await work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 5, startsAt), now, ACTIVITY_SETTINGS));
      expect(late.signup).toEqual({ opensAt: now, closesAt: startsAt });
      const lateSession = late.sessions[0]!.id;
      const refused = await work.run((uow) => signUp(uow, { sessionId: lateSession, personId: residents[2]! }, startsAt, TZ)).catch((e: ActivityError) => e.reason);
      expect(refused).toBe('closed');
      expect(await signupsOf(lateSession)).toEqual([]);
    } finally {
      await seats.close();
    }
  });

  it('the app’s group commit: 200 at once for 50 seats make 50 confirmed and 150 waiting in arrival order, each told their place after commit', async () => {
    const delivered: number[] = [];
    const sink: AfterCommitSink = { deliver: async (m) => void delivered.push(...m.map((x) => x.outboxId)), wake: async () => {}, enqueue: async () => {} };
    const seats = createSeatClaims({ url: database.url, sink, logger: createLogger('silent') });
    try {
      const made = await newLecture(50);
      const sessionId = made.sessions[0]!.id;
      const results = await Promise.all(residents.map((personId) => work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), { ...TZ, seats }))));
      expect(results.filter((r) => r.status === 'confirmed')).toHaveLength(50);
      const [s] = await database.db.select().from(activitySessions).where(eq(activitySessions.id, sessionId));
      expect(s).toMatchObject({ capacity: 50, taken: 50 });
      const rows = await signupsOf(sessionId);
      expect(rows.map((r) => r.status)).toEqual([...Array(50).fill('confirmed'), ...Array(150).fill('waiting')]);
      const byId = new Map(results.map((r) => [r.signupId, r]));
      expect(rows.slice(50).map((r) => byId.get(r.id)!.position)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
      // Each message is the outcome's, with the true place, and was handed to delivery.
      const last = rows.at(-1)!;
      const texts = await textsFor(database, last.personId!);
      expect(texts.at(-1)).toContain('候补名单第 150 位');
      expect(texts.join('\n')).not.toContain('987654321');
      const outbox = (await database.db.execute(sql`select count(*)::int as n from outbox o join channel_identities i on i.id = o.identity_id join activity_signups g on g.person_id = i.person_id and g.session_id = ${sessionId} where o.payload->>'text' like '%法律常识讲座%' and o.id = any(${`{${delivered.join(',')}}`}::bigint[])`)) as unknown as { n: number }[];
      expect(outbox[0]!.n).toBe(200);
    } finally {
      await seats.close();
    }
  }, 120_000);

  it('with the web chat written sent on commit: web messages commit sent (no deliver job), other chats and a chat with a reply still waiting go pending', async () => {
    const handed: QueuedMessage[] = [];
    const sink: AfterCommitSink = { deliver: async (m) => void handed.push(...m), wake: async () => {}, enqueue: async () => {} };
    const seats = createSeatClaims({ url: database.url, sink, logger: createLogger('silent'), sentOnCommit: new Set(['web']) });
    try {
      const made = await newLecture(1);
      const sessionId = made.sessions[0]!.id;
      // New people: the shared residents' chats hold rows earlier tests left pending.
      const [webOnly, both, behind] = (await Promise.all([0, 1, 2].map(() => makePerson(database, { householdId: town.households[0]!.id })))) as [string, string, string];
      // `both` also has a Telegram chat; `behind`'s web chat has a reply still waiting for its delivery.
      await database.db.insert(channelIdentities).values({ personId: both, channel: 'telegram', userRef: `tg-${both}`, chatRef: `tg-${both}` });
      const [behindChat] = await database.db.select().from(channelIdentities).where(and(eq(channelIdentities.personId, behind), eq(channelIdentities.channel, 'web')));
      const [waiting] = await database.db.insert(outbox).values({ identityId: behindChat!.id, channel: 'web', chatRef: behindChat!.chatRef, payload: { text: '上一条回复' } }).returning({ id: outbox.id });
      const results = await Promise.all([webOnly, both, behind].map((personId) => work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), { ...TZ, seats }))));
      expect(results.map((r) => r.status).sort()).toEqual(['confirmed', 'waiting', 'waiting']);
      const rows = (await database.db.execute(sql`
        select o.id, o.channel::text as channel, o.status, o.sent_seq is not null as sequenced, i.person_id
        from outbox o join channel_identities i on i.id = o.identity_id
        where i.person_id in (${webOnly}, ${both}, ${behind}) and o.id <> ${waiting!.id} order by o.id`)) as unknown as { id: string; channel: string; status: string; sequenced: boolean; person_id: string }[];
      const of = (personId: string, channel: string) => rows.filter((r) => r.person_id === personId && r.channel === channel);
      expect(of(webOnly, 'web').map((r) => [r.status, r.sequenced])).toEqual([['sent', true]]);
      expect(of(both, 'web').map((r) => [r.status, r.sequenced])).toEqual([['sent', true]]);
      expect(of(both, 'telegram').map((r) => [r.status, r.sequenced])).toEqual([['pending', false]]);
      // Behind the waiting reply: pending, so the deliver processor sends both in order.
      expect(of(behind, 'web').map((r) => [r.status, r.sequenced])).toEqual([['pending', false]]);
      // The sink is told which rows are sent already (only polls to wake) and which still need delivering.
      const told = new Map(handed.map((m) => [m.outboxId, m]));
      for (const r of rows) expect(told.get(Number(r.id))?.sent ? 'sent' : 'pending').toBe(r.status);
      expect(told.get(Number(of(webOnly, 'web')[0]!.id))!.sent).toEqual({ chatRef: expect.stringMatching(/^fixture-/) });
    } finally {
      await seats.close();
    }
  });

  it('a double tap through the group commit signs up once; the other taps are told they are signed up', async () => {
    const seats = createSeatClaims({ url: database.url, sink: work.sink, logger: createLogger('silent') });
    try {
      const made = await newLecture(5);
      const sessionId = made.sessions[0]!.id;
      const [me, other] = [residents[0]!, residents[1]!];
      const taps = await Promise.allSettled([me, me, other, me].map((personId) => work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), { ...TZ, seats }))));
      expect(taps.filter((t) => t.status === 'fulfilled')).toHaveLength(2);
      expect(taps.filter((t) => t.status === 'rejected').map((t) => (t as PromiseRejectedResult).reason.reason)).toEqual(['already_signed_up', 'already_signed_up']);
      expect(taps[2]!.status).toBe('fulfilled');
      const rows = await signupsOf(sessionId);
      expect(rows.map((r) => r.personId).sort()).toEqual([me, other].sort());
      const [s] = await database.db.select().from(activitySessions).where(eq(activitySessions.id, sessionId));
      expect(s!.taken).toBe(2);
    } finally {
      await seats.close();
    }
  });

  it('through the group commit, a refused sign-up fails alone, the rest of its batch is signed up, and the callers’ transactions send nothing', async () => {
    const seats = createSeatClaims({ url: database.url, sink: work.sink, logger: createLogger('silent') });
    const sent: string[] = [];
    const counted = connect(database.url, { max: 4, onQuery: (q) => void (q.includes('pg_catalog.pg_type') || sent.push(q)) });
    const callers = createWork({ database: counted, sink: work.sink, logger: createLogger('silent') });
    try {
      const gridOnly = await work.run((uow) =>
        createActivity(uow, secretary, lecture(town.community.id, 2, new Date(Date.now() + 86_400_000), { scopeUnitIds: [town.grid.id] }), new Date(), ACTIVITY_SETTINGS),
      );
      const sessionId = gridOnly.sessions[0]!.id;
      const outsider = await makePerson(database, { householdId: town.otherHousehold.id });
      const people = [residents[0]!, outsider, residents[1]!, residents[2]!];
      const taps = await Promise.allSettled(people.map((personId) => callers.run((uow) => signUp(uow, { sessionId, personId }, new Date(), { ...TZ, seats }))));
      expect(taps.map((t) => (t.status === 'fulfilled' ? t.value.status : (t.reason as ActivityError).reason))).toEqual(['confirmed', 'outside_scope', 'confirmed', 'waiting']);
      expect(sent).toEqual([]);
      expect((await signupsOf(sessionId)).map((r) => r.personId)).toEqual([residents[0], residents[1], residents[2]]);
    } finally {
      await counted.close();
      await seats.close();
    }
  });

  it('one claim for several sign-ups: seats to the first, places in line after, a participant asked twice gets one', async () => {
    const made = await newLecture(2);
    const sessionId = made.sessions[0]!.id;
    const [a, b, c, d] = [residents[0]!, residents[1]!, residents[2]!, residents[4]!];
    await work.run((uow) => signUp(uow, { sessionId, personId: d }, new Date(), TZ));
    const ask = (personId: string): SeatRequest => ({ personId, participantId: personId, at: new Date() });
    const [facts] = await sessionFacts(database.db, [sessionId]);
    const claimed = await database.db.transaction((tx) => claimSeats(tx, sessionTexts(facts!, TZ.timeZone), [ask(a), ask(b), ask(a), ask(c)]));
    expect(claimed.claims.map((x) => x && !(x instanceof ActivityError) && [x.status, x.position])).toEqual([['confirmed', undefined], ['waiting', 1], undefined, ['waiting', 2]]);
    const rows = await signupsOf(sessionId);
    expect(rows.map((r) => [r.personId, r.status])).toEqual([
      [d, 'confirmed'],
      [a, 'confirmed'],
      [b, 'waiting'],
      [c, 'waiting'],
    ]);
  });

  it('a claim written from facts since changed writes nothing; the group commit reads the session again and tells the new title', async () => {
    const seats = createSeatClaims({ url: database.url, sink: work.sink, logger: createLogger('silent') });
    try {
      const made = await newLecture(5);
      const sessionId = made.sessions[0]!.id;
      const [before] = await sessionFacts(database.db, [sessionId]);
      await work.run((uow) => signUp(uow, { sessionId, personId: residents[0]! }, new Date(), { ...TZ, seats }));
      await database.db.update(activities).set({ title: '反诈骗讲座' }).where(eq(activities.id, made.activityId));
      const old = await database.db.transaction((tx) => claimSeats(tx, sessionTexts(before!, TZ.timeZone), [{ personId: residents[1]!, participantId: residents[1]!, at: new Date() }]));
      expect(old).toMatchObject({ stale: true, claims: [undefined], messages: [] });
      expect(await signupsOf(sessionId)).toHaveLength(1);
      await work.run((uow) => signUp(uow, { sessionId, personId: residents[1]! }, new Date(), { ...TZ, seats }));
      expect((await textsFor(database, residents[1]!)).at(-1)).toContain('反诈骗讲座');
      expect(await signupsOf(sessionId)).toHaveLength(2);
    } finally {
      await seats.close();
    }
  });

  it('cancellations promote in arrival order; a confirmed offer keeps the seat; a lapsed one passes on', async () => {
    const made = await newLecture(2);
    const sessionId = made.sessions[0]!.id;
    const [a, b, c, d, e] = residents;
    for (const personId of [a!, b!, c!, d!, e!]) await work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), TZ));
    const ids = (await signupsOf(sessionId)).map((r) => r.id);

    await work.run((uow) => cancelSignup(uow, ids[0]!, a!, new Date(), TZ));
    let rows = await signupsOf(sessionId);
    expect(rows.map((r) => r.status)).toEqual(['cancelled', 'confirmed', 'offered', 'waiting', 'waiting']);
    expect((await textsFor(database, c!)).at(-1)).toContain('有空位了');
    const [timer] = await database.db.select().from(timers).where(and(eq(timers.kind, OFFER_TIMER), eq(timers.subjectId, ids[2]!)));
    expect(timer!.seq).toBe(1);
    expect(Math.abs(timer!.dueAt.getTime() - rows[2]!.offerExpiresAt!.getTime())).toBe(0);

    expect(await work.run((uow) => confirmOffer(uow, ids[2]!, c!, new Date(), TZ))).toBe('confirmed');
    expect(await database.db.select().from(timers).where(and(eq(timers.kind, OFFER_TIMER), eq(timers.subjectId, ids[2]!)))).toHaveLength(0);

    await work.run((uow) => cancelSignup(uow, ids[1]!, b!, new Date(), TZ));
    rows = await signupsOf(sessionId);
    expect(rows.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'confirmed', 'offered', 'waiting']);
    // d does not answer: at expiry the seat goes to e.
    const later = new Date(rows[3]!.offerExpiresAt!.getTime() + 1);
    expect(await work.run((uow) => expireOffer(uow, ids[3]!, 1, later, TZ))).toBe('expired');
    rows = await signupsOf(sessionId);
    expect(rows.map((r) => [r.status, r.cancelReason])).toEqual([
      ['cancelled', 'self'],
      ['cancelled', 'self'],
      ['confirmed', null],
      ['cancelled', 'offer_expired'],
      ['offered', null],
    ]);
    expect((await textsFor(database, d!)).at(-1)).toContain('已过期');
    // A second firing of the same timer changes nothing.
    expect(await work.run((uow) => expireOffer(uow, ids[3]!, 1, later, TZ))).toBe('stale');
    const [s] = await database.db.select().from(activitySessions).where(eq(activitySessions.id, sessionId));
    expect(s!.taken).toBe(2);
    expect(s!.waiting).toBe(0);
  }, 60_000);

  it('the session’s waiting count follows every change of a sign-up’s status (claims, cancellations, offers, expiries, deletion) and gives each their place', async () => {
    const made = await newLecture(1);
    const sessionId = made.sessions[0]!.id;
    const waitingOf = async () => (await database.db.select({ waiting: activitySessions.waiting }).from(activitySessions).where(eq(activitySessions.id, sessionId)))[0]!.waiting;
    const counted = async () => (await signupsOf(sessionId)).filter((r) => r.status === 'waiting').length;
    const people = residents.slice(40, 45);
    const results = [];
    for (const personId of people) results.push(await work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), TZ)));
    expect(results.map((r) => r.position)).toEqual([undefined, 1, 2, 3, 4]);
    expect(await waitingOf()).toBe(4);
    const ids = (await signupsOf(sessionId)).map((r) => r.id);
    // A waiting one leaves: the next to come is told the place behind those still waiting.
    await work.run((uow) => cancelSignup(uow, ids[2]!, people[2]!, new Date(), TZ));
    expect(await waitingOf()).toBe(3);
    const next = await work.run((uow) => signUp(uow, { sessionId, personId: residents[45]! }, new Date(), TZ));
    expect(next.position).toBe(4);
    // The seat frees: the first waiting is offered it (waiting → offered), then lets it lapse.
    await work.run((uow) => cancelSignup(uow, ids[0]!, people[0]!, new Date(), TZ));
    expect(await waitingOf()).toBe(3);
    const offered = (await signupsOf(sessionId)).find((r) => r.status === 'offered')!;
    expect(await work.run((uow) => expireOffer(uow, offered.id, 1, new Date(offered.offerExpiresAt!.getTime() + 1), TZ))).toBe('expired');
    expect(await waitingOf()).toBe(await counted());
    expect(await waitingOf()).toBe(2);
    // Rows deleted (as the end of a term deletes minors' sign-ups) leave the count too.
    await database.db.delete(activitySignups).where(and(eq(activitySignups.sessionId, sessionId), eq(activitySignups.status, 'waiting')));
    expect(await waitingOf()).toBe(0);
  }, 60_000);

  it('signs up a household member, not a stranger, and only people in the activity’s area', async () => {
    const made = await newLecture(5);
    const sessionId = made.sessions[0]!.id;
    const [me, sameHome, otherHome] = [residents[0]!, residents[3]!, residents[1]!];
    await work.run((uow) => signUp(uow, { sessionId, personId: me, participantId: sameHome }, new Date(), TZ));
    await expect(work.run((uow) => signUp(uow, { sessionId, personId: me, participantId: otherHome }, new Date(), TZ))).rejects.toMatchObject({ reason: 'not_household' });
    await expect(work.run((uow) => signUp(uow, { sessionId, personId: sameHome }, new Date(), TZ))).rejects.toMatchObject({ reason: 'already_signed_up' });
    const outsider = await makePerson(database, { householdId: town.otherHousehold.id });
    const gridOnly = await work.run((uow) =>
      createActivity(uow, secretary, lecture(town.community.id, 5, new Date(Date.now() + 86_400_000), { scopeUnitIds: [town.grid.id] }), new Date(), ACTIVITY_SETTINGS),
    );
    await expect(work.run((uow) => signUp(uow, { sessionId: gridOnly.sessions[0]!.id, personId: outsider }, new Date(), TZ))).rejects.toBeInstanceOf(ActivityError);
  });
});
