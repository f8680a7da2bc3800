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

type BulkJob = { name: string; data: unknown; opts?: Record<string, unknown> };

/**
 * Producer-side queues by name, opened on first use with the default job options and closed
 * together: what every module that adds jobs needs.
 *
 * `addBulk` merges the calls made while one is on its way to the queue into the next (group
 * commit for job adds): under load, many committed transactions share one round trip, and when
 * idle a call goes out at once. Callers still learn whether their own jobs were added.
 */
export function queueRegistry(backend: QueueBackend, defaultJobOptions: Record<string, unknown>) {
  const queues = new Map<string, InstanceType<QueueBackend['classes']['Queue']>>();
  const get = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new backend.classes.Queue(name, { ...backend.connectionOptions(), defaultJobOptions } as any);
      queues.set(name, q);
    }
    return q;
  };
  type Waiting = { jobs: BulkJob[]; done: { resolve(): void; reject(err: unknown): void }[] };
  const waiting = new Map<string, Waiting>();
  const sending = new Set<string>();
  const drain = async (name: string) => {
    sending.add(name);
    try {
      for (let next = waiting.get(name); next; next = waiting.get(name)) {
        waiting.delete(name);
        try {
          // A lone job goes out as a plain add: BullMQ wraps addBulk in MULTI/EXEC, which costs
          // more than the job itself when there is only one.
          const [only] = next.jobs;
          if (next.jobs.length === 1 && only) await get(name).add(only.name, only.data, only.opts as any);
          else await get(name).addBulk(next.jobs as any);
          next.done.forEach((d) => d.resolve());
        } catch (err) {
          next.done.forEach((d) => d.reject(err));
        }
      }
    } finally {
      sending.delete(name);
    }
  };
  return {
    get,
    addBulk(name: string, jobs: BulkJob[]): Promise<void> {
      if (jobs.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const w = waiting.get(name) ?? { jobs: [], done: [] };
        w.jobs.push(...jobs);
        w.done.push({ resolve, reject });
        waiting.set(name, w);
        if (!sending.has(name)) void drain(name);
      });
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
