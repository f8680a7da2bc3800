import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueueBackend, type QueueBackend } from '../../jobs/backend.js';
import { createJobs, type Jobs } from '../../jobs/producer.js';
import { createApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { confirmNotice, createNotice } from '../../src/notices/commands.js';
import { followUpIn } from '../../src/notices/follow.js';
import { createWork, type Work } from '../../src/work/unit.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../support/db.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';
import { seedStreet, STREET_TELEGRAM_BASE, type Street } from '../support/street-fixture.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import type { TelegramLimits } from '../support/telegram-limits.js';
import { flushPrefix, startWorkerChild, stopWorkerChild, type WorkerChild } from './support.js';

/** No quiet hours: a broadcast goes out whatever the time of day the test runs. */
const NO_QUIET = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };

/**
 * A street of `residents` Telegram residents (seeded in SQL) against the Telegram emulator
 * enforcing `limits`, with the real app's worker role in child processes (`startWorker`: each
 * delivers through the emulator under linli's own call limits, set to the same global rate) and,
 * on demand, the bot role in this process (`startBot`: receives updates, runs the dialogs). A
 * broadcast is a real notice to the whole street: created, confirmed, its fan-out job queued after
 * commit, fanned out and delivered by the workers. Used by tests/fault/broadcast.test.ts and the
 * broadcast benchmarks.
 */
export interface BroadcastRig {
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  emulator: TelegramEmulator;
  town: SmallTown;
  street: Street;
  residents: number;
  prefix: string;
  backend: QueueBackend;
  workers: WorkerChild[];
  /** A worker-role app process; `env` overrides its configuration (sweep intervals). */
  startWorker(env?: Record<string, string>): Promise<WorkerChild>;
  /** The bot role in this process (Telegram long polling against the emulator). */
  startBot(): Promise<RunningApp>;
  /** Sends a notice titled `title` to every resident of the street; returns its id. */
  broadcast(title: string): Promise<string>;
  /** Per resident, how many copies of the notice titled `title` the emulator accepted. */
  tally(title: string): { delivered: number; lost: number; doubled: number; firstAt: number; lastAt: number };
  close(): Promise<void>;
}

export async function createBroadcastRig(opts: { residents: number; limits: TelegramLimits; log?: string }): Promise<BroadcastRig> {
  const logger = createLogger('silent');
  const database = await createTestDatabase();
  const town = await createSmallTown(database);
  const street = await seedStreet(database, opts.residents, { channel: 'telegram' });
  const emulator = await TelegramEmulator.start({ limits: opts.limits });
  emulator.knowUsers(Array.from({ length: opts.residents }, (_, i) => STREET_TELEGRAM_BASE + 1 + i));
  const prefix = uniqueQueuePrefix();
  const backend = createQueueBackend({ kind: 'redis', url: TEST_REDIS_URL, prefix });
  const jobs: Jobs = createJobs(backend);
  const work: Work = createWork({ database, sink: jobs.sink, logger });
  const env: Record<string, string> = {
    CODE_SECRET: TEST_CODE_SECRET,
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    TELEGRAM_BOT_TOKEN: emulator.token,
    TELEGRAM_API_ROOT: emulator.url,
    TELEGRAM_RATE_GLOBAL_PER_SEC: String(opts.limits.globalPerSec),
    TELEGRAM_RATE_PER_CHAT_PER_SEC: String(opts.limits.perChatPerSec),
    TELEGRAM_RATE_PER_GROUP_PER_MIN: String(opts.limits.perGroupPerMin),
    NOTICE_QUIET_HOURS: '00:00-00:00',
    LOG_LEVEL: opts.log ?? 'silent',
    PORT: '0',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'linli-broadcast-')),
  };
  const workers: WorkerChild[] = [];
  let bot: RunningApp | undefined;
  let seq = 0;
  const ofTitle = new Map<string, number>();

  return {
    database,
    emulator,
    town,
    street,
    residents: opts.residents,
    prefix,
    backend,
    workers,
    async startWorker(extra = {}) {
      const w = await startWorkerChild({ ...env, LINLI_ROLE: 'worker', ...extra }, { script: 'app-child', timeoutMs: 60_000 });
      workers.push(w);
      return w;
    },
    async startBot() {
      const config = loadConfig({ ...env, LINLI_ROLE: 'bot' });
      bot = await createApp(config, { logger, seed: false, sweepEveryMs: 3_600_000 }).start();
      return bot;
    },
    async broadcast(title) {
      ofTitle.set(title, ++seq);
      return work.run(async (uow) => {
        const now = new Date();
        const notice = await createNotice(uow.tx, street.secretary, { title, body: '明天 9:00–12:00 停水，请提前储水。', category: 'outage', scopeUnitIds: [street.streetId] }, now);
        await followUpIn(uow, await confirmNotice(uow.tx, street.secretary, notice.id, now, NO_QUIET));
        return notice.id;
      });
    },
    tally(title) {
      const copies = emulator.copiesByChat(title);
      let doubled = 0;
      for (const [chat, n] of copies) if (chat > STREET_TELEGRAM_BASE && n > 1) doubled++;
      const times = emulator.sent.filter((m) => m.text.includes(title)).map((m) => m.at);
      return { delivered: copies.size, lost: opts.residents - copies.size, doubled, firstAt: Math.min(...times), lastAt: Math.max(...times) };
    },
    async close() {
      await bot?.stop().catch(() => {});
      for (const w of workers) await stopWorkerChild(w);
      await jobs.close().catch(() => {});
      await backend.close().catch(() => {});
      await flushPrefix(prefix).catch(() => 0);
      await emulator.close();
      await database.drop();
      rmSync(env.DATA_DIR!, { recursive: true, force: true });
    },
  };
}
