import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type AppOptions, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { DestinationStream } from 'pino';
import { configuredSecrets, createLogger } from '../../src/log.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix, TEST_CODE_SECRET } from './db.js';
import { flushPrefix } from './redis.js';
import { createSmallTown, type SmallTown } from './org-fixture.js';

export interface TestApp {
  app: RunningApp;
  town: SmallTown;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The real app (createApp, as `npm start` builds it) on a fresh test database with the small
 * town loaded, HTTP on a free port, and a unique queue namespace. `queue: 'redis'` runs BullMQ on
 * the machine's Redis, `'postgres'` on its PostgreSQL backend in the test database.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  opts: AppOptions & { queue?: 'redis' | 'postgres'; logTo?: DestinationStream } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const town = await createSmallTown(database);
  const url = database.url;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'linli-test-'));
  const queuePrefix = uniqueQueuePrefix();
  const config = loadConfig({
    CODE_SECRET: TEST_CODE_SECRET,
    DATABASE_URL: url,
    ...(opts.queue === 'postgres' ? {} : { REDIS_URL: TEST_REDIS_URL }),
    QUEUE_PREFIX: queuePrefix,
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? (opts.logTo ? 'info' : 'silent'),
    ...env,
  });
  const logger = createLogger(config.logLevel, { secrets: configuredSecrets(config), destination: opts.logTo });
  const app = await createApp(config, { logger, seed: false, sweepEveryMs: 500, ...opts }).start();
  return {
    app,
    town,
    dataDir,
    async stop() {
      await app.stop();
      await database.drop();
      // The PostgreSQL queue backend went with the database; Redis keys are removed by prefix.
      if (opts.queue !== 'postgres') await flushPrefix(queuePrefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
