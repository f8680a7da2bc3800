import { createPostgresBackend, createRedisBackend, withBackend, type ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * BullMQ on Redis when REDIS_URL is set, otherwise on its PostgreSQL backend in the app's own
 * database (schema = the queue prefix), so the first command needs no Redis at all.
 */
export type QueueBackendConfig =
  | { kind: 'redis'; url: string; prefix: string }
  | { kind: 'postgres'; url: string; schema: string };

export interface QueueBackend {
  readonly config: QueueBackendConfig;
  /** Queue/Worker/QueueEvents classes bound to the chosen backend. */
  readonly classes: ReturnType<typeof withBackend<any, any>>;
  /** Options every Queue/Worker/QueueEvents must receive. */
  connectionOptions(): Record<string, unknown>;
  /** Checks the datastore answers (for /healthz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createQueueBackend(config: QueueBackendConfig): QueueBackend {
  if (config.kind === 'redis') {
    // BullMQ creates (and closes) its own connections from these options; `shared` only pings.
    const options = redisOptionsFromUrl(config.url);
    const shared = new Redis({ ...options, lazyConnect: true });
    shared.on('error', () => {});
    return {
      config,
      classes: withBackend<any, ConnectionOptions>(createRedisBackend as any),
      connectionOptions: () => ({ connection: { ...options }, prefix: config.prefix }),
      ping: async () => {
        await shared.ping();
      },
      close: async () => {
        shared.disconnect();
      },
    };
  }
  const connection = { connectionString: config.url, schema: config.schema, migrate: true, max: 10 };
  let pingPool: { query(q: string): Promise<unknown>; end(): Promise<void> } | undefined;
  return {
    config,
    classes: withBackend(createPostgresBackend as any),
    connectionOptions: () => ({ connection }),
    ping: async () => {
      if (!pingPool) {
        const pg = await import('pg');
        pingPool = new pg.default.Pool({ connectionString: config.url, max: 1 });
      }
      await pingPool.query('select 1');
    },
    close: async () => {
      await pingPool?.end();
    },
  };
}

/** ioredis options from a redis:// or rediss:// URL (BullMQ wants options, not a URL). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

/**
 * Producer-side queues by name, opened on first use with the default job options and closed
 * together: what every module that adds jobs needs.
 */
export function queueRegistry(backend: QueueBackend, defaultJobOptions: Record<string, unknown>) {
  const queues = new Map<string, InstanceType<QueueBackend['classes']['Queue']>>();
  return {
    get(name: string) {
      let q = queues.get(name);
      if (!q) {
        q = new backend.classes.Queue(name, { ...backend.connectionOptions(), defaultJobOptions } as any);
        queues.set(name, q);
      }
      return q;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
