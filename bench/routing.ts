import { sql } from 'drizzle-orm';
import { ROUTE_BATCH } from '../jobs/cases.js';
import { createWork } from '../src/work/unit.js';
import { JOBS } from '../jobs/registry.js';
import { defaultJobOptions } from '../jobs/define.js';
import { startWorkers } from '../jobs/workers.js';
import { routeCases } from '../src/cases/routing.js';
import { caseInput } from '../tests/support/case-fixture.js';
import { intakeCase, runCaseTx } from '../src/cases/run.js';
import { chunks, countingDatabase, cpuMeter, createEnv, fmtRate, fmtRatio, logger, progress, runConcurrent, settings, waitUntil, type BackendKind, type ResultRow } from './common.js';

export const ROUTING_AIM = 0.3;
const NOOP_QUEUE = 'bench-noop';

/**
 * Routed cases per second vs no-op BullMQ jobs per second, same backend, same worker
 * concurrency (what caseProcessors gives the route queue), jobs added before the worker starts.
 * Routing runs the real route processor through startWorkers: a job takes its case and up to
 * ROUTE_BATCH waiting ones (duty list, SLA, update, events, card + follower messages into the
 * outbox, one statement each for the batch), then deliver jobs and one deadline timer per case
 * are added after commit; the other jobs find their case routed.
 */
export async function benchRouting(kind: BackendKind, opts: { n: number }): Promise<ResultRow[]> {
  const env = await createEnv(kind);
  env.extraQueues.push(NOOP_QUEUE);
  try {
    const { database, backend } = env;
    const route = JOBS.caseRoute;
    const concurrency = route.concurrency!;

    // Cases to route, submitted with a unit of work that drops the route jobs.
    const stub = { ...env.deps, work: createWork({ database, sink: { ...env.jobs.sink, enqueue: async () => {} }, logger }) };
    const input = (intakeKey: string) => caseInput(env.town, env.who, env.environmentCategory, { intakeKey, placeId: null });
    const ids: string[] = [];
    await runConcurrent(opts.n, 8, async (i) => {
      const r = await intakeCase(stub, { ...input(`route:${i}`), placeId: env.town.households[i % 3]!.id }, new Date());
      ids.push(r.caseId);
    });
    progress(`${kind} routing: ${ids.length} cases submitted`);

    // 1. No-op jobs: same options as case jobs, a processor that returns at once. Measured before
    // and after the routing run and averaged, so drift of a shared machine does not tilt the ratio.
    const noopQueue = new backend.classes.Queue(NOOP_QUEUE, { ...backend.connectionOptions(), defaultJobOptions } as any);
    const noopRun = async (tag: string) => {
      for (const part of chunks(ids, 1000)) await noopQueue.addBulk(part.map((caseId) => ({ name: 'noop', data: { caseId }, opts: { jobId: `noop-${tag}-${caseId}` } })));
      let done = 0;
      const cpu = cpuMeter();
      const t0 = performance.now();
      const worker = new backend.classes.Worker(NOOP_QUEUE, async () => null, { ...backend.connectionOptions(), concurrency } as any);
      worker.on('completed', () => void done++);
      await waitUntil(async () => done >= opts.n, 'no-op jobs', 600_000, 20);
      const secs = (performance.now() - t0) / 1000;
      await worker.close();
      progress(`${kind} no-op jobs (${tag}): ${opts.n} in ${secs.toFixed(2)} s = ${fmtRate(opts.n / secs)} (${cpu.stop()})`);
      return opts.n / secs;
    };
    const noopBefore = await noopRun('before');

    // 2. Routing: the real route jobs (the registry's producer), then the real processor via startWorkers.
    for (const part of chunks(ids, 1000)) await env.jobs.enqueueMany(JOBS.caseRoute, part.map((caseId) => ({ caseId })));
    const assigned = async () => {
      const [row] = await database.db.execute<{ n: number }>(sql`select count(*)::int as n from cases where status = 'assigned'`);
      return row!.n;
    };
    const cpu = cpuMeter();
    const t1 = performance.now();
    const workers = await startWorkers({
      backend,
      database,
      adapters: new Map(),
      producer: env.jobs,
      config: env.config,
      logger,
      caseSettings: settings,
      jobs: [route],
    });
    await waitUntil(async () => (await assigned()) >= opts.n, 'routing', 600_000, 20);
    const routeSecs = (performance.now() - t1) / 1000;
    await workers.close();
    const routeRate = opts.n / routeSecs;
    progress(`${kind} routed cases: ${opts.n} in ${routeSecs.toFixed(2)} s = ${fmtRate(routeRate)} (${cpu.stop()})`);
    const noopRate = (noopBefore + (await noopRun('after'))) / 2;
    await noopQueue.close();

    const [check] = await database.db.execute<{ events: number; outbox: number }>(
      sql`select (select count(*)::int from case_events where kind = 'assigned') as events, (select count(*)::int from outbox) as outbox`,
    );
    if (check!.events !== opts.n) throw new Error(`expected ${opts.n} 'assigned' events, found ${check!.events}`);
    // Statements one batch sends (same code, a counting connection), for the explanation.
    const counting = countingDatabase(database.url);
    const waiting: string[] = [];
    for (let i = 0; i < ROUTE_BATCH; i++) waiting.push((await intakeCase(stub, { ...input(`count:${i}`), placeId: env.town.households[i % 3]!.id }, new Date())).caseId);
    const { routed: routedNow } = await runCaseTx({ work: createWork({ database: counting.database, sink: env.jobs.sink, logger }) }, (tx, fx) =>
      routeCases(tx, fx, { first: waiting[0]!, limit: ROUTE_BATCH }, settings, new Date()),
    );
    const perBatch = counting.count();
    await counting.close();
    if (routedNow.length !== ROUTE_BATCH) throw new Error(`expected a batch of ${ROUTE_BATCH}, routed ${routedNow.length}`);
    progress(`${kind} a routing batch of ${ROUTE_BATCH} cases sends ${perBatch} SQL statements inside its transaction (+ begin/commit), then 2 addBulk`);

    const ratio = routeRate / noopRate;
    return [
      {
        backend: kind,
        metric: `routed cases (c=${concurrency}, ${perBatch} stmts/${ROUTE_BATCH} cases)`,
        value: fmtRate(routeRate),
        raw: `no-op ${fmtRate(noopRate)} (mean)`,
        ratio: fmtRatio(ratio),
        // The aims are for the Redis backend; the PostgreSQL rows are shown against them.
        aim: kind === 'redis' ? `≥ ${ROUTING_AIM}` : `(≥ ${ROUTING_AIM} on redis)`,
        ok: kind === 'redis' ? ratio >= ROUTING_AIM : undefined,
      },
    ];
  } finally {
    await env.close();
  }
}
