import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';

/**
 * Server secrets that must survive restarts but need no configuration: the configured value, or
 * one generated once into DATA_DIR (mode 0600). Processes on other machines must be given the
 * same value through the environment (SESSION_SECRET, CODE_SECRET).
 */
export function loadOrCreateSecret(configured: string | undefined, dataDir: string, file: string): string {
  if (configured) return configured;
  const where = path.resolve(dataDir, file);
  if (existsSync(where)) return readFileSync(where, 'utf8').trim();
  mkdirSync(path.dirname(where), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  try {
    writeFileSync(where, secret, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process of the same data dir wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(where, 'utf8').trim();
    throw err;
  }
  chmodSync(where, 0o600);
  return secret;
}

const codeKeys = new Map<string, string>();

/**
 * The key behind every stored staff, invite, link and follow code (HMAC-SHA256): a database dump
 * alone then gives no way to test guesses offline. Read once per data dir.
 */
export function codeKey(config: Pick<Config, 'codeSecret' | 'dataDir'>): string {
  const id = `${config.codeSecret ?? ''}\u0000${path.resolve(config.dataDir)}`;
  let key = codeKeys.get(id);
  if (!key) {
    key = loadOrCreateSecret(config.codeSecret, config.dataDir, 'code-secret');
    codeKeys.set(id, key);
  }
  return key;
}
