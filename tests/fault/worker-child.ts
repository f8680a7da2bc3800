/**
 * A worker process for the fault tests, run as `node --import tsx tests/fault/worker-child.ts`.
 * It runs the real job workers (delivery + every case processor) against the database and Redis
 * prefix given in its environment, prints "ready" once the workers are up, and is meant to be
 * killed with SIGKILL mid-work (SIGTERM closes it gracefully).
 *
 * Environment: DATABASE_URL, REDIS_URL, QUEUE_PREFIX; optional CASE_SWEEP_MS and OUTBOX_SWEEP_MS
 * (the fault tests set both high so recovery comes from BullMQ's stalled-job check alone).
 */
import { createQueueBackend } from '../../jobs/backend.js';
import { createJobs } from '../../jobs/producer.js';
import { startWorkers, WORKER_JOBS } from '../../jobs/workers.js';
import { connect } from '../../db/client.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { TEST_CODE_SECRET } from '../support/db.js';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`worker-child: ${name} is required`);
  return v;
};

const databaseUrl = env('DATABASE_URL');
const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
const database = connect(databaseUrl);
const backend = createQueueBackend({ kind: 'redis', url: env('REDIS_URL'), prefix: env('QUEUE_PREFIX') });
const jobs = createJobs(backend);
const workers = await startWorkers({
  backend,
  database,
  adapters: new Map(),
  producer: jobs,
  config: loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }),
  logger,
  caseSettings: { deadlineScale: 1, autoCloseDays: 7 },
  jobs: WORKER_JOBS,
  sweepEveryMs: Number(process.env.OUTBOX_SWEEP_MS ?? 3_600_000),
  caseSweepEveryMs: Number(process.env.CASE_SWEEP_MS ?? 3_600_000),
  timerSweepEveryMs: Number(process.env.TIMER_SWEEP_MS ?? process.env.CASE_SWEEP_MS ?? 3_600_000),
});
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await workers.close();
    await jobs.close();
    await backend.close();
    await database.close();
    process.exit(0);
  })();
});
