import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { loadOrCreateSecret } from '../../src/secrets.js';

/**
 * Web chat sessions: a random id in an HttpOnly cookie, signed with Hono's signed-cookie helpers
 * (HMAC-SHA256) so a visitor can't take over someone else's conversation by guessing or editing
 * the id.
 */
export const COOKIE = 'linli_sid';
const SESSION_ID = /^[a-f0-9]{32}$/;

/** SESSION_SECRET, or one generated once into DATA_DIR (mode 0600) so restarts keep sessions. */
export function loadOrCreateSessionSecret(configured: string | undefined, dataDir: string): string {
  return loadOrCreateSecret(configured, dataDir, 'session-secret');
}

export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

/** The session id of the request's cookie, or undefined when it is missing, malformed or tampered with. */
export async function readSession(c: Context, secret: string): Promise<string | undefined> {
  const value = await getSignedCookie(c, secret, COOKIE);
  return typeof value === 'string' && SESSION_ID.test(value) ? value : undefined;
}

/** Starts a new session on the response; returns its id. */
export async function startSession(c: Context, secret: string, secure: boolean): Promise<string> {
  const id = newSessionId();
  await setSignedCookie(c, COOKIE, id, secret, { httpOnly: true, sameSite: 'Lax', path: '/chat', maxAge: 365 * 86400, secure });
  return id;
}

export function endSession(c: Context, secure: boolean): void {
  deleteCookie(c, COOKIE, { path: '/chat', secure });
}
