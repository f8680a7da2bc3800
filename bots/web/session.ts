import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setSignedCookie } from 'hono/cookie';
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

/**
 * The session id of the request's cookie, or undefined when it is missing, malformed or tampered
 * with. Hono's signed-cookie format (`id.base64(HMAC-SHA256(id))`, as setSignedCookie writes it),
 * checked with node:crypto: WebCrypto's async import + verify on every request was a tenth of the
 * web chat's CPU.
 */
export async function readSession(c: Context, secret: string): Promise<string | undefined> {
  const value = getCookie(c, COOKIE);
  if (typeof value !== 'string') return undefined;
  const dot = value.lastIndexOf('.');
  const id = value.slice(0, dot);
  const signature = value.slice(dot + 1);
  if (dot < 0 || !SESSION_ID.test(id) || signature.length !== 44 || !signature.endsWith('=')) return undefined;
  const given = Buffer.from(signature, 'base64');
  const expected = createHmac('sha256', secret).update(id).digest();
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
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
