import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { loadOrCreateSecret } from '../../src/secrets.js';

/**
 * Web chat sessions: a random id in an HttpOnly cookie, signed with HMAC so a visitor can't
 * take over someone else's conversation by guessing or editing the id.
 */
export const COOKIE = 'linli_sid';

/** SESSION_SECRET, or one generated once into DATA_DIR (mode 0600) so restarts keep sessions. */
export function loadOrCreateSessionSecret(configured: string | undefined, dataDir: string): string {
  return loadOrCreateSecret(configured, dataDir, 'session-secret');
}

export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

function sign(id: string, secret: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url');
}

export function sealSession(id: string, secret: string): string {
  return `${id}.${sign(id, secret)}`;
}

/** The session id of a cookie value, or undefined when it is missing, malformed or tampered with. */
export function openSession(value: string | undefined, secret: string): string | undefined {
  if (!value) return undefined;
  const [id, mac] = value.split('.');
  if (!id || !mac || !/^[a-f0-9]{32}$/.test(id)) return undefined;
  const expected = Buffer.from(sign(id, secret));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined;
}
