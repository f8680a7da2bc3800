import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

import { waitFor } from '../support/wait.js';

export { waitFor };
export { flushPrefix } from '../support/redis.js';

export interface WorkerChild {
  child: ChildProcess;
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts tests/fault/worker-child.ts in its own Node process and waits for it to say "ready". */
export async function startWorkerChild(
  env: Record<string, string>,
  opts: { timeoutMs?: number; script?: 'worker-child' | 'app-child' } = {},
): Promise<WorkerChild> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  // worker-child: the job workers alone; app-child (tests/support): the whole app in the role LINLI_ROLE says.
  const script = opts.script === 'app-child' ? path.join(here, '../support/app-child.ts') : path.join(here, 'worker-child.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
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

/**
 * The local TCP ports of a process's open sockets to `remotePort` (Linux: its fds that are
 * sockets, looked up by inode in /proc/net/tcp and tcp6), so a test can tell a killed process's
 * connections to a server apart from a surviving one's on the server side. Only those to that
 * server: Linux gives one ephemeral port to connections to different servers, so the survivor's
 * connection to the emulator can have the local port of the victim's connection to PostgreSQL,
 * and counting it kept a killed worker looking connected (a CI run timed out on it).
 */
export function tcpPortsOf(pid: number, remotePort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9]!) && parseInt(cols[2]!.split(':')[1]!, 16) === remotePort) ports.add(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}
