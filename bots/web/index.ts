import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { outbox } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import { LOCALES, type Config, type Locale } from '../../src/config.js';
import type { InboundEvent } from '../../src/dialog/events.js';
import { locationSchema } from '../../src/dialog/events.js';
import { replySchema } from '../../src/dialog/reply.js';
import type { Logger } from '../../src/log.js';
import type { ChannelAdapter, MediaSource } from '../channel.js';
import { chatPage } from './page.js';
import { COOKIE, loadOrCreateSessionSecret, newSessionId, openSession, sealSession } from './session.js';
import { detectImage } from './images.js';

const clientMessageId = z.string().uuid();
export const webMessageSchema = z.union([
  z.object({ clientMessageId, text: z.string().max(10_000) }).strict(),
  z.object({ clientMessageId, choice: z.string().min(1).max(64) }).strict(),
  z.object({ clientMessageId, location: locationSchema.pick({ lat: true, lng: true }) }).strict(),
]);

export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const LONG_POLL_MS = 25_000;
/** Cross-process fallback: replies sent by a worker in another process are found by polling. */
const DB_POLL_MS = 500;
const POSTS_PER_SECOND = 10;

export interface WebChannelDeps {
  database: Database;
  config: Config;
  logger: Logger;
  media?: MediaSource;
  /** Long-poll timeout (tests shorten it). */
  longPollMs?: number;
}

/**
 * The web chat: a page at /chat and a small JSON API. A session is the chat identity
 * (userRef = chatRef = session id). Replies are the session's sent outbox rows, read by long poll,
 * so the web channel needs no push connection and survives restarts.
 */
export function createWebChannel(deps: WebChannelDeps): { adapter: ChannelAdapter; routes(app: Hono): void } {
  const secret = loadOrCreateSessionSecret(deps.config.sessionSecret, deps.config.dataDir);
  const uploads = path.resolve(deps.config.dataDir, 'uploads');
  const wake = new EventEmitter();
  wake.setMaxListeners(0);
  let onInbound: ((e: InboundEvent) => Promise<void>) | undefined;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const adapter: ChannelAdapter = {
    channel: 'web',
    async start(handler) {
      onInbound = handler;
    },
    async stop() {
      onInbound = undefined;
      wake.emit('stop');
    },
    async send(chatRef) {
      // The row is already in the outbox; once the job marks it sent the browser's poll returns it.
      setImmediate(() => wake.emit(chatRef));
      return { ok: true };
    },
    async fetchMedia(fileRef) {
      const key = /^web:([a-f0-9]{32}\.(jpg|png|webp))$/.exec(fileRef)?.[1];
      if (!key) throw new Error('not a web upload');
      const bytes = await readFile(path.join(uploads, key));
      return { bytes, mimeType: detectImage(bytes) ?? 'application/octet-stream' };
    },
  };

  function session(c: Context, create: boolean): string | undefined {
    const id = openSession(getCookie(c, COOKIE), secret);
    if (id || !create) return id;
    const fresh = newSessionId();
    setCookie(c, COOKIE, sealSession(fresh, secret), {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/chat',
      maxAge: 365 * 86400,
      secure: deps.config.http.publicUrl.startsWith('https:'),
    });
    return fresh;
  }

  function allowed(sid: string): boolean {
    const now = Date.now();
    const b = buckets.get(sid) ?? { tokens: POSTS_PER_SECOND, at: now };
    b.tokens = Math.min(POSTS_PER_SECOND, b.tokens + ((now - b.at) / 1000) * POSTS_PER_SECOND);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    buckets.set(sid, b);
    return true;
  }

  async function deliver(c: Context, sid: string, messageRef: string, payload: Record<string, unknown>) {
    if (!onInbound) return c.json({ error: 'chat is not running' }, 503);
    const languageHint = c.req.header('accept-language')?.split(',')[0];
    await onInbound({ channel: 'web', userRef: sid, chatRef: sid, messageRef, languageHint, ...payload } as InboundEvent);
    return c.json({ ok: true }, 202);
  }

  function pageLocale(c: Context): Locale {
    const accepted = (c.req.header('accept-language') ?? '').toLowerCase();
    return LOCALES.find((l) => accepted.startsWith(l.slice(0, 2).toLowerCase())) ?? deps.config.defaultLocale;
  }

  async function sentAfter(sid: string, after: number) {
    return deps.database.db
      .select({ id: outbox.id, payload: outbox.payload })
      .from(outbox)
      .where(and(eq(outbox.channel, 'web'), eq(outbox.chatRef, sid), eq(outbox.status, 'sent'), gt(outbox.id, after)))
      .orderBy(asc(outbox.id))
      .limit(100);
  }

  function routes(app: Hono) {
    app.get('/chat', (c) => {
      // The session is opened by the page's first API call, so a new visitor is greeted there.
      c.header('cache-control', 'no-store');
      return c.html(chatPage(pageLocale(c), { maxTextLength: deps.config.maxTextLength }));
    });

    /** Opens (or resumes) a session; a brand-new one is greeted so the person needn't speak first. */
    app.post('/chat/api/session', async (c) => {
      const existing = session(c, false);
      const sid = existing ?? session(c, true)!;
      if (!existing) return deliver(c, sid, `${sid}:start`, { kind: 'text', text: '/start' });
      return c.json({ ok: true });
    });

    app.post('/chat/api/messages', async (c) => {
      const sid = session(c, false);
      if (!sid) return c.json({ error: 'no session: open /chat first' }, 401);
      if (!allowed(sid)) return c.json({ error: 'too many messages, slow down' }, 429);
      const body = webMessageSchema.safeParse(await c.req.json().catch(() => undefined));
      if (!body.success) return c.json({ error: 'invalid message', issues: body.error.issues.map((i) => i.message) }, 400);
      const m = body.data;
      const messageRef = `${sid}:${m.clientMessageId}`;
      if ('text' in m) return deliver(c, sid, messageRef, { kind: 'text', text: m.text });
      if ('choice' in m) return deliver(c, sid, messageRef, { kind: 'choice', choice: m.choice });
      return deliver(c, sid, messageRef, { kind: 'location', location: m.location });
    });

    app.post('/chat/api/photos', async (c) => {
      const sid = session(c, false);
      if (!sid) return c.json({ error: 'no session: open /chat first' }, 401);
      if (!allowed(sid)) return c.json({ error: 'too many messages, slow down' }, 429);
      if (Number(c.req.header('content-length') ?? 0) > MAX_PHOTO_BYTES + 64 * 1024) return c.json({ error: 'photo too large (10 MB at most)' }, 413);
      const form = await c.req.formData().catch(() => undefined);
      const file = form?.get('photo');
      const id = clientMessageId.safeParse(form?.get('clientMessageId'));
      if (!(file instanceof File) || !id.success) return c.json({ error: 'send multipart form-data with photo and clientMessageId' }, 400);
      if (file.size > MAX_PHOTO_BYTES) return c.json({ error: 'photo too large (10 MB at most)' }, 413);
      const bytes = Buffer.from(await file.arrayBuffer());
      const mimeType = detectImage(bytes);
      if (!mimeType) return c.json({ error: 'only JPEG, PNG or WebP photos' }, 415);
      const key = `${randomBytes(16).toString('hex')}.${mimeType === 'image/png' ? 'png' : mimeType === 'image/webp' ? 'webp' : 'jpg'}`;
      await mkdir(uploads, { recursive: true });
      await writeFile(path.join(uploads, key), bytes, { mode: 0o600 });
      return deliver(c, sid, `${sid}:${id.data}`, { kind: 'photo', photo: { fileRef: `web:${key}`, mimeType } });
    });

    app.get('/chat/api/messages', async (c) => {
      const sid = session(c, false);
      if (!sid) return c.json({ error: 'no session: open /chat first' }, 401);
      const after = z.coerce.number().int().min(0).catch(0).parse(c.req.query('after'));
      const deadline = Date.now() + (deps.longPollMs ?? LONG_POLL_MS);
      let rows = await sentAfter(sid, after);
      while (rows.length === 0 && Date.now() < deadline && onInbound) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            wake.off(sid, done);
            wake.off('stop', done);
            resolve();
          };
          const timer = setTimeout(done, Math.min(DB_POLL_MS, Math.max(0, deadline - Date.now())));
          wake.on(sid, done);
          wake.on('stop', done);
        });
        rows = await sentAfter(sid, after);
      }
      return c.json({
        messages: rows.map((r) => {
          const reply = replySchema.parse(r.payload);
          return {
            id: r.id,
            text: reply.text,
            choices: reply.choices ?? [],
            requestLocation: reply.requestLocation ?? false,
            media: (reply.media ?? []).map((m) => ({ url: `/chat/media/${r.id}/${encodeURIComponent(m.fileRef)}`, caption: m.caption })),
          };
        }),
      });
    });

    /** Photos in replies, only to the session the reply was addressed to. */
    app.get('/chat/media/:outboxId/:fileRef', async (c) => {
      const sid = session(c, false);
      const outboxId = Number(c.req.param('outboxId'));
      if (!sid || !Number.isSafeInteger(outboxId)) return c.notFound();
      const [row] = await deps.database.db
        .select({ payload: outbox.payload })
        .from(outbox)
        .where(and(eq(outbox.id, outboxId), eq(outbox.chatRef, sid), eq(outbox.channel, 'web')));
      const fileRef = c.req.param('fileRef');
      const reply = row ? replySchema.safeParse(row.payload) : undefined;
      if (!reply?.success || !reply.data.media?.some((m) => m.fileRef === fileRef) || !deps.media) return c.notFound();
      const media = await deps.media.load(fileRef);
      return c.body(new Uint8Array(media.bytes), 200, { 'content-type': media.mimeType, 'cache-control': 'private, max-age=3600' });
    });
  }

  return { adapter, routes };
}
