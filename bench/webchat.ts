import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request as httpRequest } from 'node:http';
import { createHmac } from 'node:crypto';
import { COOKIE } from '../bots/web/session.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix } from '../tests/support/db.js';
import { createSmallTown } from '../tests/support/org-fixture.js';
import { flushPrefix } from '../tests/support/redis.js';
import { percentile, progress, type BackendKind } from './common.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SESSION_SECRET = 'bench-only-secret-'.padEnd(64, 'x');

/**
 * The real app in a process of its own (tests/support/app-child.ts, role `all`) on a fresh
 * database with web chat residents seeded, driven from this process over loopback HTTP like
 * browsers would: a cookie per session, a long poll per session, messages POSTed to the web chat
 * API. Nothing here reaches into the app's memory.
 */
export interface WebChatEnv {
  kind: BackendKind;
  url: string;
  pid: number;
  databaseUrl: string;
  databaseName: string;
  prefix: string;
  sids: string[];
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  close(): Promise<void>;
}

export async function startWebChatEnv(kind: BackendKind, sessions: number, env: Record<string, string> = {}): Promise<WebChatEnv> {
  const db = await createTestDatabase();
  await createSmallTown(db);
  const sids = Array.from({ length: sessions }, () => randomBytes(16).toString('hex'));
  await seedResidents(db, sids);
  const prefix = uniqueQueuePrefix();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'linli-bench-web-'));
  // BENCH_NODE_ARGS, e.g. --cpu-prof, to profile the app process.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(root, 'tests/support/app-child.ts')], {
    cwd: root,
    env: {
      ...process.env,
      LINLI_ROLE: 'all',
      DATABASE_URL: db.url,
      ...(kind === 'redis' ? { REDIS_URL: TEST_REDIS_URL } : { REDIS_URL: '' }),
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      PORT: '0',
      SESSION_SECRET,
      LOG_LEVEL: 'warn',
      // Replies are read by the browser's poll; the web "send" is a row update, so the
      // default web rate (500/s) would be the figure measured. Raised to see linli's own limit.
      WEB_RATE_GLOBAL_PER_SEC: '100000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A benchmark that crashes must not leave the app running.
  const killChild = () => child.exitCode === null && child.kill('SIGKILL');
  process.once('exit', killChild);
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const end = Date.now() + 60_000;
  while (!/ready (\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`app did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /ready (\S+)/.exec(out)![1]!;
  progress(`${kind}: app pid ${child.pid} at ${url}, ${sessions} web residents seeded`);
  return {
    kind,
    url,
    pid: child.pid!,
    databaseUrl: db.url,
    databaseName: new URL(db.url).pathname.slice(1),
    prefix,
    sids,
    db,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(kill);
      }
      if (out.includes('"level":50')) progress(`app logged errors: ${out.split('\n').filter((l) => l.includes('"level":50')).slice(0, 3).join(' | ').slice(0, 600)}`);
      await db.drop();
      if (kind === 'redis') await flushPrefix(prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Onboarded web residents (person + consent + web identity per session id), in three statements. */
async function seedResidents(db: { sql: import('postgres').Sql }, sids: string[]) {
  const ids = sids.map(() => randomUUID());
  for (let i = 0; i < sids.length; i += 5000) {
    const p = ids.slice(i, i + 5000);
    const s = sids.slice(i, i + 5000);
    await db.sql`insert into people (id, locale) select unnest(${p}::uuid[]), 'zh-CN'`;
    await db.sql`insert into consents (person_id, notice_version, channel) select unnest(${p}::uuid[]), 'bench', 'web'`;
    await db.sql`insert into channel_identities (person_id, channel, user_ref, chat_ref) select x.p, 'web', x.s, x.s from unnest(${p}::uuid[], ${s}::text[]) as x(p, s)`;
  }
}

/** CPU seconds used so far by a process (utime + stime from /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of the app process plus the PostgreSQL backends connected to its database. */
export async function appCpu(env: WebChatEnv, admin: import('postgres').Sql): Promise<number> {
  const rows = await admin`select pid from pg_stat_activity where datname = ${env.databaseName}`;
  let total = cpuSeconds(env.pid);
  for (const r of rows) {
    try {
      total += cpuSeconds(Number(r.pid));
    } catch {
      // a backend that ended meanwhile
    }
  }
  return total;
}

/** One HTTP request on a keep-alive agent; resolves with the status and the parsed JSON body (if any). */
function request(url: string, opts: { agent: Agent; method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; json?: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: opts.agent, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body) req.end(opts.body);
    else req.end();
  });
}

/**
 * One browser-like chat per session: a long poll that runs until stopped, and `send`, which POSTs
 * a message and resolves with the milliseconds until its reply arrived through the poll.
 */
export class ChatLoad {
  readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  private running = true;
  private cursors = new Map<string, number>();
  private waiting = new Map<string, { t0: number; resolve(ms: number): void }>();
  private loops: Promise<void>[] = [];
  refused = 0;
  errors = 0;
  polls = 0;
  constructor(private readonly url: string) {}

  cookie(sid: string) {
    // Hono's signed-cookie format (value.base64(HMAC-SHA256)), as the app's setSignedCookie writes it.
    const signature = createHmac('sha256', SESSION_SECRET).update(sid).digest('base64');
    return `${COOKIE}=${encodeURIComponent(`${sid}.${signature}`)}`;
  }

  open(sids: string[]) {
    for (const sid of sids) this.loops.push(this.pollLoop(sid));
  }

  private async pollLoop(sid: string) {
    const headers = { cookie: this.cookie(sid) };
    while (this.running) {
      try {
        const res = await request(`${this.url}/chat/api/messages?after=${this.cursors.get(sid) ?? 0}`, { agent: this.agent, headers });
        this.polls++;
        if (res.status !== 200) {
          this.errors++;
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        const body = res.json as { messages: { id: number }[] };
        if (body.messages.length) {
          this.cursors.set(sid, Math.max(...body.messages.map((m) => m.id)));
          const w = this.waiting.get(sid);
          if (w) {
            this.waiting.delete(sid);
            w.resolve(performance.now() - w.t0);
          }
        }
      } catch {
        if (!this.running) return;
        this.errors++;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Sends '菜单' as the session; resolves with the reply latency in ms (503s are retried after Retry-After, like the page). */
  send(sid: string): Promise<number> {
    const t0 = performance.now();
    const done = new Promise<number>((resolve) => this.waiting.set(sid, { t0, resolve }));
    const body = JSON.stringify({ clientMessageId: randomUUID(), text: '菜单' });
    const attempt = async (): Promise<void> => {
      try {
        const res = await request(`${this.url}/chat/api/messages`, {
          method: 'POST',
          agent: this.agent,
          headers: { cookie: this.cookie(sid), 'content-type': 'application/json', origin: this.url },
          body,
        });
        if (res.status === 503 || res.status === 429) {
          this.refused++;
          setTimeout(() => void attempt(), 1000);
        } else if (res.status !== 202) this.errors++;
      } catch {
        this.errors++;
        setTimeout(() => void attempt(), 1000);
      }
    };
    void attempt();
    return done;
  }

  /** Stops the polls (each ends with its current request, at most one long-poll timeout). */
  async close() {
    this.running = false;
    this.agent.destroy();
    await Promise.allSettled(this.loops);
  }
}

/**
 * Offers `rate` messages per second for `seconds` from the idle ones of `sids` (each session has
 * at most one message waiting for its reply, as a person does), then waits up to `graceS` for the
 * last replies. Returns the latencies (Infinity = no reply in time) and the achieved reply rate.
 */
export async function offer(load: ChatLoad, sids: string[], rate: number, seconds: number, graceS = 10) {
  const idle = [...sids];
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let busyLost = 0;
  let sent = 0;
  const start = performance.now();
  let lastReply = start;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (sent < due) {
      sent++;
      const sid = idle.shift();
      if (!sid) {
        busyLost++;
        continue;
      }
      pending.push(
        load.send(sid).then((ms) => {
          latencies.push(ms);
          lastReply = performance.now();
          idle.push(sid);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const offeredFor = (performance.now() - start) / 1000;
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, graceS * 1000))]);
  const answered = latencies.length;
  const unanswered = pending.length - answered;
  const sorted = [...latencies].sort((a, b) => a - b);
  for (let i = 0; i < unanswered; i++) sorted.push(Infinity);
  return {
    rate,
    offered: pending.length,
    answered,
    unanswered,
    /** Offered while every session was waiting for a reply: the driver had no idle chat to send from. */
    busyLost,
    replyRate: answered / Math.max(offeredFor, (lastReply - start) / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}
