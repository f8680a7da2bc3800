import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedPassword } from '../../db/client.js';

const root = mkdtempSync(path.join(tmpdir(), 'linli-secrets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the embedded PostgreSQL password', () => {
  it('is generated into DATA_DIR on a first start, private, and the same on the next', () => {
    const dir = path.join(root, 'fresh');
    const first = embeddedPassword(dir);
    expect(first).toMatch(/^[a-f0-9]{64}$/);
    expect(first).not.toBe('linli');
    expect(statSync(path.join(dir, 'pg-password')).mode & 0o777).toBe(0o600);
    expect(embeddedPassword(dir)).toBe(first);
  });

  it('stays the old fixed one for a cluster created before passwords were generated', () => {
    const dir = path.join(root, 'old');
    mkdirSync(path.join(dir, 'pg'), { recursive: true });
    writeFileSync(path.join(dir, 'pg', 'PG_VERSION'), '16');
    expect(embeddedPassword(dir)).toBe('linli');
  });
});
