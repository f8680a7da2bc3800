import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../../jobs/backend.js';
import { TEST_REDIS_URL } from '../support/db.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Deletes every Redis key under a queue prefix: what FLUSHDB does to one deployment, without
 * touching the other tests that share this Redis; with `queues`, only those queues' keys.
 * Returns how many keys went.
 */
export async function flushPrefix(prefix: string, opts: { queues?: string[]; url?: string } = {}): Promise<number> {
  const redis = new Redis(redisOptionsFromUrl(opts.url ?? TEST_REDIS_URL));
  try {
    let deleted = 0;
    for (const pattern of opts.queues ? opts.queues.map((q) => `${prefix}:${q}:*`) : [`${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export interface WorkerChild {
  child: ChildProcess;
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts tests/fault/worker-child.ts in its own Node process and waits for it to say "ready". */
export async function startWorkerChild(env: Record<string, string>, timeoutMs = 30_000): Promise<WorkerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'worker-child.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await Promise.race([
    waitFor(async () => out.includes('ready'), 'the worker child to start', timeoutMs, 50),
    exited.then(({ code, signal }) => {
      throw new Error(`worker child exited early (${code ?? signal}): ${out}`);
    }),
  ]);
  return { child, exited, output: () => out };
}

/** SIGTERM and wait; SIGKILL if it does not go within `graceMs`. */
export async function stopWorkerChild(w: WorkerChild | undefined, graceMs = 15_000) {
  if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), graceMs);
  await w.exited;
  clearTimeout(timer);
}
