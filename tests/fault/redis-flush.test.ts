import { and, count, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents, cases, channelIdentities, outbox } from '../../db/schema/index.js';
import { createQueueBackend, type QueueBackend } from '../../jobs/backend.js';
import { createJobs, type Jobs } from '../../jobs/producer.js';
import { JOBS } from '../../jobs/registry.js';
import { startWorkers, WORKER_JOBS } from '../../jobs/workers.js';
import { timers } from '../../db/schema/index.js';
import { createWork } from '../../src/work/unit.js';
import type { CaseSettings } from '../../src/cases/effects.js';
import { submitCase } from '../../src/cases/intake.js';
import { CASE_DEADLINE_TIMER, runCaseTx } from '../../src/cases/run.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { casePeople, categoryId, type CasePeople } from '../support/case-fixture.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix, TEST_CODE_SECRET } from '../support/db.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';
import { flushPrefix, waitFor } from './support.js';

/**
 * Fault: Redis flushed while case deadline timers are pending. The keys are deleted directly
 * (FLUSHDB for this deployment's prefix only: other tests share the Redis), then the deadlines
 * are made overdue. The periodic timer sweep, reading the timers table, must escalate every
 * overdue case exactly once.
 *
 * The second test flushes the whole prefix: the sweeps run on timers in the worker process (see
 * jobs/workers.ts), so they survive it. The third shows a worker restart after the flush also
 * recovers every case, once each. Conditions are awaited, not times: how long the escalations
 * take on a loaded machine is printed, and "exactly once" is checked once nothing is left due
 * (no later sweep could fire these cases again).
 */

const N = 200;
const SWEEP_MS = 1000;
/** A generous bound for a failure to show, not a figure: the sweep itself runs every second. */
const GIVE_UP_MS = 90_000;
// Real deadlines: the accept timers sit in Redis as delayed jobs hours away until the flush.
const settings: CaseSettings = { deadlineScale: 1, autoCloseDays: 7 };
const logger = createLogger('silent');
const TIMER_AND_WORK_QUEUES = [JOBS.timerWake.name, JOBS.caseRoute.name, JOBS.deliverWeb.name, JOBS.deliverTelegram.name, JOBS.deliverWechat.name];

describe('Redis flushed with case timers pending', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let who: CasePeople;
  let prefix: string;
  let backend: QueueBackend;
  let jobs: Jobs;
  let workers: { close(): Promise<void> } | undefined;
  let deps: Parameters<typeof runCaseTx>[0];

  const start = () =>
    startWorkers({
      backend,
      database,
      adapters: new Map(),
      producer: jobs,
      config: loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }),
      logger,
      caseSettings: settings,
      jobs: WORKER_JOBS,
      caseSweepEveryMs: SWEEP_MS,
      timerSweepEveryMs: SWEEP_MS,
    });

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    who = await casePeople(database, town);
    prefix = uniqueQueuePrefix();
    backend = createQueueBackend({ kind: 'redis', url: TEST_REDIS_URL, prefix });
    jobs = createJobs(backend);
    deps = { work: createWork({ database, sink: jobs.sink, logger }) };
    workers = await start();
  });
  afterAll(async () => {
    await workers?.close();
    await jobs?.close();
    await backend?.close();
    if (prefix) await flushPrefix(prefix);
    await database?.drop();
  });

  /** Wake-up jobs waiting in Redis for deadline timers. */
  const delayedWakes = async () => {
    const q = new backend.classes.Queue(JOBS.timerWake.name, { ...backend.connectionOptions() } as any);
    try {
      return await q.getDelayedCount();
    } finally {
      await q.close();
    }
  };
  /** Deadline timers armed in the database for these cases (with seq = their running deadline). */
  const armedDeadlines = async (ids: string[], seq: number) =>
    (await database.db.select({ n: count() }).from(timers).where(and(eq(timers.kind, CASE_DEADLINE_TIMER), inArray(timers.subjectId, ids), eq(timers.seq, seq))))[0]!.n;

  /** `n` cases reported and routed, each with its accept deadline pending in Redis. */
  async function routedCases(tag: string, n: number): Promise<{ ids: string[]; numbers: string[] }> {
    const environment = await categoryId(database, 'environment');
    const made: { caseId: string; number: string }[] = [];
    for (let i = 0; i < n; i += 20) {
      made.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, n - i) }, (_, k) =>
            runCaseTx(deps, (tx, fx) =>
              submitCase(
                tx,
                fx,
                {
                  intakeKey: `fault:flush:${tag}:${i + k}`,
                  reporterId: who.resident,
                  communityId: town.community.id,
                  placeId: town.households[0]!.id,
                  categoryId: environment,
                  priority: 'normal',
                  description: `路灯不亮 ${tag} #${i + k}`,
                  point: null,
                },
                new Date(),
              ),
            ),
          ),
        )),
      );
    }
    const ids = made.map((m) => m.caseId);
    await waitFor(
      async () => (await database.db.select({ n: count() }).from(cases).where(and(inArray(cases.id, ids), eq(cases.status, 'assigned'))))[0]!.n === n || undefined,
      'every case to be routed',
      60_000,
    );
    // The accept timers are rows written with the routing; their wake-ups are delayed jobs hours away.
    expect(await armedDeadlines(ids, 1)).toBe(n);
    expect(await delayedWakes()).toBeGreaterThan(0);
    return { ids, numbers: made.map((m) => m.number) };
  }

  /** The deadline (case row and its timer) moved into the past, as if the hours had gone by. */
  const overdue = async (ids: string[]) => {
    const at = new Date(Date.now() - 1000);
    await database.db.update(cases).set({ dueAt: at }).where(inArray(cases.id, ids));
    await database.db
      .update(timers)
      .set({ dueAt: at, data: sql`jsonb_set(${timers.data}, '{dueAt}', to_jsonb(${at.getTime()}::bigint)) - 'remindAt'` })
      .where(and(eq(timers.kind, CASE_DEADLINE_TIMER), inArray(timers.subjectId, ids)));
  };
  /** Timers of these cases still due: none once every escalation is done and the next deadline armed. */
  const dueTimers = async (ids: string[]) =>
    (await database.db.select({ n: count() }).from(timers).where(and(inArray(timers.subjectId, ids), sql`${timers.dueAt} <= now()`)))[0]!.n;
  /** Waits until nothing of these cases is due any more, so no later sweep can fire one again. */
  const settled = (ids: string[]) => waitFor(async () => (await dueTimers(ids)) === 0 || undefined, 'no timer of these cases left due', GIVE_UP_MS, 100);

  const escalatedCount = async (ids: string[]) =>
    (await database.db.select({ n: count() }).from(caseEvents).where(and(inArray(caseEvents.caseId, ids), eq(caseEvents.kind, 'escalated'))))[0]!.n;

  /** Exactly one escalation per case: one event, level community, one 督办 card each, no message twice. */
  async function escalatedOnce(ids: string[], numbers: string[]) {
    const perCase = await database.db
      .select({ caseId: caseEvents.caseId, n: count() })
      .from(caseEvents)
      .where(and(inArray(caseEvents.caseId, ids), eq(caseEvents.kind, 'escalated')))
      .groupBy(caseEvents.caseId);
    expect(perCase).toHaveLength(ids.length);
    expect(perCase.filter((r) => r.n !== 1)).toEqual([]);
    const rows = await database.db
      .select({ level: cases.level, escalatedSeq: cases.escalatedSeq, deadlineSeq: cases.deadlineSeq })
      .from(cases)
      .where(inArray(cases.id, ids));
    expect(rows.filter((r) => !(r.level === 'community' && r.escalatedSeq === 1 && r.deadlineSeq === 2))).toEqual([]);
    const duplicates = await database.db
      .select({ n: count() })
      .from(outbox)
      .groupBy(outbox.identityId, sql`${outbox.payload}->>'text'`)
      .having(sql`count(*) > 1`);
    expect(duplicates).toEqual([]);
    const cards = await database.db
      .select({ text: sql<string>`${outbox.payload}->>'text'` })
      .from(outbox)
      .innerJoin(channelIdentities, eq(channelIdentities.id, outbox.identityId))
      .where(and(eq(channelIdentities.personId, who.secretary), sql`${outbox.payload}->>'text' like '督办%'`));
    const mine = new Set(numbers);
    const cardNumbers = cards.map((c) => /T-\d{8}-\d{4}/.exec(c.text)![0]).filter((x) => mine.has(x));
    expect(cardNumbers.sort()).toEqual([...numbers].sort());
  }

  it('escalates every overdue case exactly once after the sweep when the timers are flushed', async () => {
    const { ids, numbers } = await routedCases('timers', N);
    // Every timer and every piece of queued work is gone; the sweep's own schedule survives.
    const deleted = await flushPrefix(prefix, { queues: TIMER_AND_WORK_QUEUES });
    expect(await delayedWakes()).toBe(0);
    await overdue(ids);
    const t0 = Date.now();
    let first = 0;
    await waitFor(
      async () => {
        const n = await escalatedCount(ids);
        if (n > 0 && !first) first = Date.now() - t0;
        return n >= N ? true : undefined;
      },
      `all ${N} overdue cases to escalate`,
      GIVE_UP_MS,
      50,
    );
    const elapsed = Date.now() - t0;
    console.info(
      `[redis-flush] timers flushed (${deleted} keys): first of ${N} overdue cases escalated after ${first} ms, all after ${elapsed} ms (sweep every ${SWEEP_MS} ms)`,
    );
    await settled(ids);
    await escalatedOnce(ids, numbers);
    // Each case's next deadline is a timer again, with a wake-up in Redis.
    expect(await armedDeadlines(ids, 2)).toBe(N);
    expect(await delayedWakes()).toBeGreaterThan(0);
  }, 240_000);

  const whole = { ids: [] as string[], numbers: [] as string[] };

  it('escalates every overdue case after the sweep when the whole prefix is flushed (wake-ups, queues and all)', async () => {
    Object.assign(whole, await routedCases('whole', 50));
    const deleted = await flushPrefix(prefix);
    expect(deleted).toBeGreaterThan(0);
    await overdue(whole.ids);
    const t0 = Date.now();
    await waitFor(async () => ((await escalatedCount(whole.ids)) >= whole.ids.length ? true : undefined), 'the sweep after a full flush', GIVE_UP_MS, 100);
    console.info(`[redis-flush] whole prefix flushed: escalated ${Date.now() - t0} ms later`);
  }, 240_000);

  it('escalates the cases left overdue by the full flush, once each, after a worker restart', async () => {
    expect(whole.ids).toHaveLength(50);
    await workers?.close();
    workers = await start();
    const t0 = Date.now();
    await waitFor(async () => ((await escalatedCount(whole.ids)) >= whole.ids.length ? true : undefined), 'the sweep after a restart', GIVE_UP_MS, 50);
    console.info(`[redis-flush] after the full flush and a worker restart: escalated ${Date.now() - t0} ms later`);
    await settled(whole.ids);
    await escalatedOnce(whole.ids, whole.numbers);
  }, 240_000);
});
