import { createHmac } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { languageDetector } from 'hono/language';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import { LOCALES, type Locale } from '../../src/config.js';

/**
 * What stands in front of the web chat's handlers: security headers with a nonce-only CSP,
 * refusal of cross-site state changes, body limits enforced while the body streams in, and the
 * visitor's language and client key worked out once at the edge.
 */

/** CSP and friends for the page and the API: nothing but the page's own nonce'd script and style. */
export const webSecurityHeaders = (): MiddlewareHandler =>
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [NONCE],
      styleSrc: [NONCE],
      // data: for the inline favicon and the thumbnails of the resident's own photos (made in the page).
      imgSrc: ["'self'", 'blob:', 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    crossOriginResourcePolicy: 'same-origin',
    permissionsPolicy: { camera: [], microphone: [], geolocation: ['self'] },
  });

/** The nonce secureHeaders made for this response (the page puts it on its script and style). */
export const cspNonce = (c: Context): string => (c.get('secureHeadersNonce' as never) as string | undefined) ?? '';

/**
 * A state-changing request must come from our own page: Hono's csrf accepts it only with
 * `Sec-Fetch-Site: same-origin` or an Origin that is ours (the request's, or PUBLIC_URL's behind a
 * proxy). JSON endpoints additionally demand `application/json`, which no cross-site form or
 * simple request can send without a CORS preflight we never answer.
 */
export function sameOriginOnly(publicUrl: string): MiddlewareHandler {
  const publicOrigin = new URL(publicUrl).origin;
  const ours = (origin: string, c: Context) => origin === publicOrigin || origin === new URL(c.req.url).origin;
  const forms = csrf({ origin: ours });
  return async (c, next) => {
    // Whatever the content type: a browser that says the request is cross-site, or names
    // another origin, is refused.
    const origin = c.req.header('origin');
    if (c.req.method !== 'GET' && (c.req.header('sec-fetch-site') === 'cross-site' || (origin !== undefined && !ours(origin, c)))) {
      return c.json({ error: 'cross-site request refused' }, 403);
    }
    return forms(c, next);
  };
}

export const jsonOnly: MiddlewareHandler = async (c, next) => {
  if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) return c.json({ error: 'send application/json' }, 415);
  return next();
};

/**
 * Refuses a body over `maxBytes` by Content-Length at once, or while a chunked body streams in.
 * The Content-Length case is decided here on the header alone, as Hono's bodyLimit decides it:
 * bodyLimit first reads `c.req.raw.body`, which makes @hono/node-server build a whole WHATWG
 * Request (headers, abort signal, body stream) that `c.req.json()` would otherwise skip — about a
 * twentieth of a web reply's CPU. Only a chunked body goes through bodyLimit's counting stream.
 */
export const limitBody = (maxBytes: number): MiddlewareHandler => {
  const onError = (c: Context) => c.json({ error: `body too large (${maxBytes} bytes at most)` }, 413);
  const streaming = bodyLimit({ maxSize: maxBytes, onError });
  return async (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streaming(c, next);
    if (parseInt(length, 10) > maxBytes) return onError(c);
    await next();
  };
};

/**
 * The visitor's language from Accept-Language, parsed with q-values and matched to a locale we
 * speak (zh, zh-Hans-CN, zh-TW → zh-CN); anything unusable falls back to the default. The raw
 * header never goes further than this.
 */
export function detectLanguage(fallback: Locale): MiddlewareHandler {
  return languageDetector({
    supportedLanguages: [...LOCALES, 'zh'],
    fallbackLanguage: fallback,
    order: ['header'],
    caches: false,
    ignoreCase: true,
  });
}

export function localeOf(c: Context, fallback: Locale): Locale {
  const detected = c.get('language' as never) as string | undefined;
  if (detected === 'zh') return 'zh-CN';
  return (LOCALES as readonly string[]).includes(detected ?? '') ? (detected as Locale) : fallback;
}

/**
 * A key for the client's network address, keyed with the session secret so that the limit
 * counters (which outlive the request) never hold an address in the clear.
 */
export function clientKeyOf(c: Context, secret: string, trustProxy = false): string {
  let address = 'unknown';
  // Our own proxy appends the address it saw; entries before it are whatever the client claimed.
  const forwarded = trustProxy ? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined;
  try {
    address = forwarded || (getConnInfo(c).remote.address ?? 'unknown');
  } catch {
    // Not served by @hono/node-server (e.g. app.request in a test): one shared key.
  }
  return `web:${createHmac('sha256', secret).update(address).digest('base64url').slice(0, 22)}`;
}
