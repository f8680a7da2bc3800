import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activitySessions, activitySignups, outbox, channelIdentities, timers } from '../../../db/schema/index.js';
import { activityReminderTimer } from '../../../jobs/activities.js';
import { createQueueBackend, type QueueBackend } from '../../../jobs/backend.js';
import { createJobs, type Jobs } from '../../../jobs/producer.js';
import { startWorkers, WORKER_JOBS } from '../../../jobs/workers.js';
import { createActivity } from '../../../src/activities/create.js';
import { sendReminder } from '../../../src/activities/reminders.js';
import { cancelSignup, signUp } from '../../../src/activities/signups.js';
import { REMINDER_TIMER } from '../../../src/activities/timers.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { fireDueTimers } from '../../../src/timers/fire.js';
import { setTimer } from '../../../src/timers/timers.js';
import { createWork, type Work } from '../../../src/work/unit.js';
import { ACTIVITY_SETTINGS, lecture, TZ } from '../../support/activity-fixture.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../../support/db.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';
import { flushPrefix } from '../../support/redis.js';
import { waitFor } from '../../support/wait.js';

const SWEEP_MS = 1000;
const logger = createLogger('silent');
/** Offers in these tests run out this long after the cancel that made them. */
const OFFER_LEFT_MS = 2500;

/**
 * Offer expiry and reminders as timers with real workers on a real Redis: an unanswered offer
 * passes on when it runs out, also when the queue prefix was flushed in between (the timer sweep
 * reads the timers table), and each reminder is sent exactly once.
 */
describe('activity timers (real PostgreSQL and Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let prefix: string;
  let backend: QueueBackend;
  let jobs: Jobs;
  let workers: { close(): Promise<void> } | undefined;
  let work: Work;
  let secretary: string;
  let people: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    prefix = uniqueQueuePrefix();
    backend = createQueueBackend({ kind: 'redis', url: TEST_REDIS_URL, prefix });
    jobs = createJobs(backend);
    work = createWork({ database, sink: jobs.sink, logger });
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    people = [];
    for (let i = 0; i < 6; i++) people.push(await makePerson(database, { householdId: town.households[i % 3]!.id }));
    workers = await startWorkers({
      backend,
      database,
      adapters: new Map(),
      producer: jobs,
      config: loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }),
      logger,
      jobs: WORKER_JOBS,
      timerSweepEveryMs: SWEEP_MS,
    });
  }, 60_000);
  afterAll(async () => {
    await workers?.close();
    await jobs?.close();
    await backend?.close();
    if (prefix) await flushPrefix(prefix);
    await database?.drop();
  });

  /** One seat, three people: the first has it, two wait. Returns the sign-up ids in arrival order. */
  async function fullSession(who: string[]): Promise<{ sessionId: string; ids: string[] }> {
    const now = new Date();
    const made = await work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 1, new Date(now.getTime() + 3 * 86_400_000), { offerMinutes: 5, announce: false }), now, ACTIVITY_SETTINGS));
    const sessionId = made.sessions[0]!.id;
    for (const personId of who) await work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), TZ));
    const rows = await database.db.select({ id: activitySignups.id }).from(activitySignups).where(eq(activitySignups.sessionId, sessionId)).orderBy(asc(activitySignups.arrival));
    return { sessionId, ids: rows.map((r) => r.id) };
  }
  /** The holder cancels as if 5 minutes minus OFFER_LEFT_MS ago, so the offer it makes runs out OFFER_LEFT_MS from now. */
  const cancelEarlier = (signupId: string, personId: string) => work.run((uow) => cancelSignup(uow, signupId, personId, new Date(Date.now() - 5 * 60_000 + OFFER_LEFT_MS), TZ));
  const statuses = async (sessionId: string) =>
    (await database.db.select({ status: activitySignups.status }).from(activitySignups).where(eq(activitySignups.sessionId, sessionId)).orderBy(asc(activitySignups.arrival))).map((r) => r.status);

  async function passesOn(sessionId: string, ids: string[], flush: boolean): Promise<number> {
    await cancelEarlier(ids[0]!, people[0]!);
    expect(await statuses(sessionId)).toEqual(['cancelled', 'offered', 'waiting']);
    const [offer] = await database.db.select({ at: activitySignups.offerExpiresAt }).from(activitySignups).where(eq(activitySignups.id, ids[1]!));
    // The whole prefix, as FLUSHDB would do to this deployment: the offer's wake-up job is gone.
    if (flush) expect(await flushPrefix(prefix)).toBeGreaterThan(0);
    await waitFor(async () => ((await statuses(sessionId))[2] === 'offered' ? true : undefined), 'the offer to pass on', 60_000, 50);
    const lateness = Date.now() - offer!.at!.getTime();
    expect(await statuses(sessionId)).toEqual(['cancelled', 'cancelled', 'offered']);
    const [s] = await database.db.select({ taken: activitySessions.taken }).from(activitySessions).where(eq(activitySessions.id, sessionId));
    expect(s!.taken).toBe(1);
    return lateness;
  }

  it('passes an unanswered offer on when it runs out', async () => {
    const { sessionId, ids } = await fullSession(people.slice(0, 3));
    const late = await passesOn(sessionId, ids, false);
    // On time: its wake-up fires it (the bound is loose for a loaded 2-core machine; the bench measures p99).
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(15_000);
  }, 90_000);

  it('passes it on also after the queue prefix was flushed (the timer sweep)', async () => {
    const { sessionId, ids } = await fullSession([people[0]!, people[3]!, people[4]!]);
    const late = await passesOn(sessionId, ids, true);
    // The wake-up was gone: the sweep (every second) fired it, within a few sweep intervals.
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(15_000);
  }, 90_000);

  it('sends each reminder exactly once', async () => {
    const now = new Date();
    // Starts in 24 h + 2 s: the 24 h reminder falls due in 2 s, the 1 h one tomorrow.
    const made = await work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 5, new Date(now.getTime() + 24 * 3600_000 + 2000), { announce: false }), now, ACTIVITY_SETTINGS));
    const sessionId = made.sessions[0]!.id;
    for (const personId of people.slice(0, 3)) await work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), TZ));
    await waitFor(async () => ((await database.db.select().from(activitySessions).where(eq(activitySessions.id, sessionId)))[0]!.reminded24At ? true : undefined), 'the 24 h reminder', 60_000, 50);
    // Fired again by hand (a duplicate wake-up, the sweep racing it): nothing more is sent.
    expect(await work.run((uow) => sendReminder(uow, sessionId, '24h', new Date(), 'Asia/Shanghai'))).toBe(0);
    const sent = await database.db
      .select({ personId: channelIdentities.personId, n: sql<number>`count(*)::int` })
      .from(outbox)
      .innerJoin(channelIdentities, eq(channelIdentities.id, outbox.identityId))
      .where(and(sql`${outbox.payload}->>'text' like '⏰ 明天此时：法律常识讲座%'`, sql`${channelIdentities.personId} in (${sql.join(people.map((p) => sql`${p}`), sql`, `)})`))
      .groupBy(channelIdentities.personId);
    expect(sent.map((r) => r.n)).toEqual([1, 1, 1]);
  }, 90_000);

  it('sends the 1 h reminder once at the 1 h point, not before, and not again when its timer fires a second time', async () => {
    const now = new Date();
    const startsAt = new Date(now.getTime() + 3 * 86_400_000);
    const made = await work.run((uow) => createActivity(uow, secretary, lecture(town.community.id, 5, startsAt, { title: '冬季养生讲座', announce: false }), now, ACTIVITY_SETTINGS));
    const sessionId = made.sessions[0]!.id;
    const holders = people.slice(3, 6);
    for (const personId of holders) await work.run((uow) => signUp(uow, { sessionId, personId }, new Date(), TZ));
    const oneHourBefore = startsAt.getTime() - 3600_000;
    const [armed] = await database.db.select().from(timers).where(and(eq(timers.kind, REMINDER_TIMER), eq(timers.subjectId, `${sessionId}:1h`)));
    expect(armed!.dueAt.getTime()).toBe(oneHourBefore);
    const remindedCount = async () =>
      (
        await database.db
          .select({ personId: channelIdentities.personId, n: sql<number>`count(*)::int` })
          .from(outbox)
          .innerJoin(channelIdentities, eq(channelIdentities.id, outbox.identityId))
          .where(and(sql`${outbox.payload}->>'text' like '⏰ 1 小时后开始：冬季养生讲座%'`, sql`${channelIdentities.personId} in (${sql.join(holders.map((p) => sql`${p}`), sql`, `)})`))
          .groupBy(channelIdentities.personId)
      ).map((r) => r.n);
    // Time driven through the timer facility (what the sweep runs), with the real handler.
    const handler = activityReminderTimer({ config: loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }) } as Parameters<typeof activityReminderTimer>[0]);
    const sweepAt = (at: number) => fireDueTimers({ work, handlers: new Map([[REMINDER_TIMER, handler]]), logger }, { kind: REMINDER_TIMER, now: new Date(at) });
    await sweepAt(oneHourBefore - 60_000);
    expect(await remindedCount()).toEqual([]);
    await sweepAt(oneHourBefore);
    expect(await remindedCount()).toEqual([1, 1, 1]);
    const [stamped] = await database.db.select().from(activitySessions).where(eq(activitySessions.id, sessionId));
    expect(stamped!.reminded1At).not.toBeNull();
    // A second sweep finds nothing; the same timer armed again (a duplicate) fired by the running workers' sweep sends nothing.
    expect((await sweepAt(oneHourBefore + 60_000)).claimed).toBe(0);
    await setTimer(database.db, { kind: REMINDER_TIMER, subjectId: `${sessionId}:1h`, seq: 1, dueAt: new Date() });
    await waitFor(async () => ((await database.db.select().from(timers).where(eq(timers.subjectId, `${sessionId}:1h`))).length === 0 ? true : undefined), 'the repeated 1 h timer to fire', 60_000, 50);
    expect(await work.run((uow) => sendReminder(uow, sessionId, '1h', new Date(), 'Asia/Shanghai'))).toBe(0);
    expect(await remindedCount()).toEqual([1, 1, 1]);
  }, 90_000);
});
