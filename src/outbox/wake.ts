import { Redis, type RedisOptions } from 'ioredis';
import type postgres from 'postgres';
import type { Logger } from '../log.js';

/**
 * 回复推送 (reply wake-up): tells the processes that serve web chats that replies to some chats
 * are now readable, so a waiting long poll answers at once instead of polling the database.
 * The deliver job publishes after it has marked the row sent (committed); the web process
 * subscribes. Across processes it goes through PostgreSQL LISTEN/NOTIFY on the zero-config start
 * and Redis pub/sub when Redis is configured.
 *
 * A push carries chat refs only (web session ids: the chat's address, never the message), and is
 * a hint, not the data: the poll reads the rows from the database, so a lost push costs latency
 * (until the poll's own timeout), never a message. After the subscription (re)connects, the
 * listener is called with `undefined`, meaning "pushes may have been missed: re-check every chat".
 */
export interface ReplyWake {
  /** Announces that replies to these chats were committed as sent. Never throws; calls are coalesced. */
  publish(chatRefs: readonly string[]): void;
  /** Starts receiving every process's announcements; resolves once subscribed. */
  subscribe(listener: (chatRef: string | undefined) => void): Promise<void>;
  close(): Promise<void>;
}

/** NOTIFY payloads must stay under 8000 bytes; chat refs are joined with spaces up to this. */
const MAX_PAYLOAD = 7000;

/**
 * Publishes announcements in batches: the refs published while one batch is on its way go out
 * together in the next (one round trip for many replies under load, at once when idle).
 */
function coalescing(send: (payload: string) => Promise<unknown>, logger: Logger) {
  let pending = new Set<string>();
  let sending = false;
  const drain = async () => {
    sending = true;
    try {
      while (pending.size) {
        const refs = [...pending];
        pending = new Set();
        for (const payload of pack(refs)) {
          await send(payload).catch((err) => logger.warn({ err: (err as Error).message }, 'reply wake-up not published; the poll timeout covers it'));
        }
      }
    } finally {
      sending = false;
    }
  };
  return (chatRefs: readonly string[]) => {
    for (const r of chatRefs) if (r && !/\s/.test(r)) pending.add(r);
    if (!sending && pending.size) void drain();
  };
}

/** Splits refs into space-joined payloads of at most MAX_PAYLOAD bytes. */
export function pack(refs: readonly string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const r of refs) {
    if (cur && Buffer.byteLength(cur) + 1 + Buffer.byteLength(r) > MAX_PAYLOAD) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur} ${r}` : r;
  }
  if (cur) out.push(cur);
  return out;
}

const unpack = (payload: string) => payload.split(' ').filter(Boolean);

/**
 * LISTEN/NOTIFY on the app's own database. postgres.js keeps one dedicated connection for LISTEN
 * and re-listens after it reconnects (then `onlisten` runs again, which we pass on as "re-check").
 * NOTIFY is delivered only when the publishing transaction commits.
 */
export function createPostgresWake(sql: postgres.Sql, logger: Logger, channel = 'linli_reply_wake'): ReplyWake {
  let unlisten: (() => Promise<void>) | undefined;
  return {
    publish: coalescing((payload) => sql.notify(channel, payload), logger),
    async subscribe(listener) {
      let first = true;
      const sub = await sql.listen(
        channel,
        (payload) => {
          for (const ref of unpack(payload)) listener(ref);
        },
        () => {
          if (!first) listener(undefined);
          first = false;
        },
      );
      unlisten = () => sub.unlisten();
    },
    async close() {
      await unlisten?.().catch(() => {});
    },
  };
}

/**
 * Redis pub/sub: one publishing and (when subscribed) one subscribing connection. The channel is
 * under the queue prefix, so deployments (and test files) sharing a Redis don't wake each other.
 */
export function createRedisWake(options: RedisOptions, prefix: string, logger: Logger): ReplyWake {
  const channel = `${prefix}:reply-wake`;
  const pub = new Redis({ ...options, lazyConnect: true });
  pub.on('error', () => {});
  let sub: Redis | undefined;
  return {
    publish: coalescing((payload) => pub.publish(channel, payload), logger),
    async subscribe(listener) {
      sub = new Redis({ ...options });
      sub.on('error', (err) => logger.warn({ err: err.message }, 'reply wake-up subscription lost; reconnecting'));
      let first = true;
      sub.on('ready', () => {
        // ioredis re-subscribes on reconnect by itself; what was published meanwhile is gone.
        if (!first) listener(undefined);
        first = false;
      });
      sub.on('message', (_ch: string, payload: string) => {
        for (const ref of unpack(payload)) listener(ref);
      });
      await sub.subscribe(channel);
    },
    async close() {
      sub?.disconnect();
      pub.disconnect();
    },
  };
}
