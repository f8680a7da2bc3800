/**
 * The real app (createApp) in its own Node process, run as `node --import tsx
 * tests/support/app-child.ts` with its configuration in the environment (LINLI_ROLE, DATABASE_URL,
 * REDIS_URL, QUEUE_PREFIX, …). Prints "ready <url>" once started; SIGTERM stops it gracefully.
 * Used where a test must show that two processes share nothing but the datastores.
 */
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';

const config = loadConfig(process.env);
const app = await createApp(config, { logger: createLogger(config.logLevel), seed: false, sweepEveryMs: Number(process.env.OUTBOX_SWEEP_MS ?? 3_600_000) }).start();
process.stdout.write(`ready ${app.url}\n`);
process.once('SIGTERM', () => {
  void app.stop().finally(() => process.exit(0));
});
