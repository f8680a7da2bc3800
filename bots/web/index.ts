import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { outbox } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import type { Config } from '../../src/config.js';
import { createAdmission, OVERLOADED } from '../../src/dialog/admission.js';
import type { HandleResult } from '../../src/dialog/engine.js';
import type { InboundEvent } from '../../src/dialog/events.js';
import { locationSchema } from '../../src/dialog/events.js';
import { replySchema } from '../../src/dialog/reply.js';
import type { LimitStore } from '../../src/limits/store.js';
import type { Logger } from '../../src/log.js';
import type { ReplyWake } from '../../src/outbox/wake.js';
import { detectImageType, MAX_PHOTO_BYTES } from '../../src/photos/process.js';
import type { ChannelAdapter, MediaSource } from '../channel.js';
import { clientKeyOf, cspNonce, detectLanguage, jsonOnly, limitBody, localeOf, sameOriginOnly, webSecurityHeaders } from './guards.js';
import { chatPage } from './page.js';
import { loadOrCreateSessionSecret, readSession, startSession } from './session.js';
import { createUploads, UPLOAD_MAX_AGE_MS } from './uploads.js';

const clientMessageId = z.string().uuid();
export const webMessageSchema = z.union([
  z.object({ clientMessageId, text: z.string().max(10_000) }).strict(),
  z.object({ clientMessageId, choice: z.string().min(1).max(64) }).strict(),
  z.object({ clientMessageId, location: locationSchema.pick({ lat: true, lng: true }) }).strict(),
]);

/** The poll's cursor; built once (a zod schema built per poll showed in the profile). */
const afterSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).catch(0);

/** 10,000 characters of CJK text are 30 KB of UTF-8; nothing legitimate is bigger. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * How long a poll waits for a push. An idle chat costs one indexed read per this interval and
 * nothing in between; the read at the start of the next poll is the safety re-check behind a
 * lost push.
 */
const LONG_POLL_MS = 25_000;
/**
 * A poll that comes back with the cursor this process last answered, with no push for the chat
 * since, skips its first read for this long: an idle chat re-polls every 25 s without touching
 * the database, and reads at most this often as the safety re-check.
 */
const KNOWN_MS = 120_000;
/** Replies returned by one poll at most. */
const PAGE = 100;
/**
 * Posts one session may make: a burst of quick taps passes, a flood does not (30 in any 5 s, so at
 * most 6/s sustained; nobody types faster).
 */
const POSTS_PER_WINDOW = { points: 30, durationSec: 5 };
/**
 * Inbound messages handled at once and waiting beyond that before the API answers 503: each
 * handled message holds a pooled connection for its transaction, and the deliver jobs need theirs.
 */
const INBOUND = { concurrency: 8, maxWaiting: 256 };

export interface WebChannelDeps {
  database: Database;
  config: Config;
  logger: Logger;
  limits: LimitStore;
  /** Whether the person behind this web session is at a step that asks for a photo. */
  acceptsPhoto: (userRef: string) => Promise<boolean>;
  media?: MediaSource;
  /** Long-poll timeout (tests shorten it). */
  longPollMs?: number;
  /** Cross-process reply wake-ups: published where replies are delivered, received where polls wait. */
  wake: ReplyWake;
  /** Admission of inbound messages (default INBOUND; tests make it small). */
  inbound?: { concurrency: number; maxWaiting: number };
}

/**
 * The web chat: a page at /chat and a small JSON API. A session is the chat identity
 * (userRef = chatRef = session id). Replies are the session's sent outbox rows, read by long poll,
 * so the web channel needs no push connection and survives restarts. A waiting poll sleeps until
 * the process that delivered a reply to its chat wakes it (`deps.wake`, after the row is marked
 * sent): it never polls the database on a timer.
 */
export function createWebChannel(deps: WebChannelDeps): { adapter: ChannelAdapter; routes(app: Hono): void } {
  const secret = loadOrCreateSessionSecret(deps.config.sessionSecret, deps.config.dataDir);
  const secure = deps.config.http.publicUrl.startsWith('https:');
  const uploads = createUploads(path.resolve(deps.config.dataDir, 'uploads'));
  /** Polls waiting in this process, by chat; each entry is called once and then forgotten. */
  const waiting = new Map<string, Set<() => void>>();
  /**
   * Chats this process read up to `cursor` with no push for them since (`valid` once the read is
   * done; a push deletes the entry, so a read that raced a push never counts as up to date).
   */
  const known = new Map<string, { cursor: number; at: number; valid: boolean }>();
  const forget = setInterval(() => {
    const old = Date.now() - KNOWN_MS;
    for (const [sid, k] of known) if (k.at < old) known.delete(sid);
  }, KNOWN_MS);
  forget.unref();
  const wakeChat = (chatRef: string) => {
    known.delete(chatRef);
    const set = waiting.get(chatRef);
    if (!set) return;
    waiting.delete(chatRef);
    for (const done of set) done();
  };
  const wakeAll = () => {
    known.clear();
    [...waiting.keys()].forEach(wakeChat);
  };
  let onInbound: ((e: InboundEvent) => Promise<HandleResult | void>) | undefined;
  const admission = createAdmission(deps.inbound ?? INBOUND);
  let sweeper: NodeJS.Timeout | undefined;
  const limits = deps.config.web.limits;
  const sessionsPerAddress = deps.limits.limiter('web-session-address', { points: limits.sessionsPerAddressPerHour, durationSec: 3600 });
  const postsPerSession = deps.limits.limiter('web-post-session', POSTS_PER_WINDOW);
  const photosPerSession = deps.limits.limiter('web-photo-session', { points: limits.photosPerSessionPerDay, durationSec: 86_400 });
  const photosPerAddress = deps.limits.limiter('web-photo-address', { points: limits.photosPerAddressPerDay, durationSec: 86_400 });
  const sweep = () => void uploads.sweep().catch((err) => deps.logger.warn({ err: (err as Error).message }, 'upload sweep failed'));

  const adapter: ChannelAdapter = {
    channel: 'web',
    async start(handler) {
      // undefined: the subscription reconnected and may have missed pushes, so every poll re-reads.
      await deps.wake.subscribe((chatRef) => (chatRef === undefined ? wakeAll() : wakeChat(chatRef)));
      onInbound = handler;
      sweep();
      sweeper = setInterval(sweep, UPLOAD_MAX_AGE_MS).unref();
    },
    async stop() {
      onInbound = undefined;
      clearInterval(forget);
      clearInterval(sweeper);
      wakeAll();
    },
    async send() {
      // The row is already in the outbox; the browser's poll reads it once the job marks it sent.
      return { ok: true };
    },
    delivered(chatRef) {
      deps.wake.publish([chatRef]);
    },
    async fetchMedia(fileRef) {
      const key = /^web:(.+)$/.exec(fileRef)?.[1];
      if (!key) throw new Error('not a web upload');
      return uploads.take(key);
    },
  };

  const tooMany = (c: Context) => c.json({ error: 'too many requests, slow down' }, 429);

  /**
   * The request's live session: none when the cookie is missing or forged, or when the person
   * deleted their data in it (the session then ends; the page starts a new one).
   */
  async function liveSession(c: Context): Promise<string | undefined> {
    const sid = await readSession(c, secret);
    if (!sid) return undefined;
    // Raw (still a named prepared statement): drizzle's query building was a visible share of a web reply's CPU.
    const [row] = await deps.database.sql<{ ended: boolean }[]>`
      select ended_at is not null as ended from channel_identities where channel = 'web' and user_ref = ${sid}`;
    return row?.ended ? undefined : sid;
  }

  /** `mustRun`: wait for a slot however busy (the greeting, which nobody would send again). */
  async function deliver(c: Context, sid: string, messageRef: string, payload: Record<string, unknown>, mustRun = false) {
    if (!onInbound) return c.json({ error: 'chat is not running' }, 503);
    const handle = onInbound;
    const event = {
      channel: 'web',
      userRef: sid,
      chatRef: sid,
      messageRef,
      languageHint: localeOf(c, deps.config.defaultLocale),
      clientKey: clientKeyOf(c, secret, deps.config.web.trustProxy),
      ...payload,
    } as InboundEvent;
    const result = await admission.run(() => handle(event), mustRun);
    // Overloaded: not stored, so the page sends it again (same clientMessageId) after a second.
    if (result === OVERLOADED) return c.json({ error: 'busy, try again shortly' }, 503, { 'retry-after': '1' });
    // Refused by the engine's own schema: say so, never 202 into nothing.
    if (result === 'invalid') return c.json({ error: 'message refused' }, 422);
    return c.json({ ok: true }, 202);
  }

  /** Resolves when a reply to this chat is pushed, or at the deadline. */
  function listen(sid: string, deadline: number): { promise: Promise<void>; cancel(): void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), Math.max(0, deadline - Date.now()));
      done = () => {
        clearTimeout(timer);
        const set = waiting.get(sid);
        set?.delete(done);
        if (set?.size === 0) waiting.delete(sid);
        resolve();
      };
    });
    const set = waiting.get(sid) ?? new Set();
    set.add(done);
    waiting.set(sid, set);
    return { promise, cancel: done };
  }

  /** sentAfter, remembering how far this chat was read unless a push came meanwhile. */
  async function readFor(sid: string, after: number) {
    const token = { cursor: after, at: Date.now(), valid: false };
    known.set(sid, token);
    const rows = await sentAfter(sid, after);
    if (known.get(sid) === token) {
      token.cursor = rows.length ? Math.max(...rows.map((r) => r.seq)) : after;
      // A full page may have more behind it.
      token.valid = rows.length < PAGE;
    }
    return rows;
  }

  async function sentAfter(sid: string, after: number): Promise<{ id: number; seq: number; payload: unknown }[]> {
    // In the order they were sent (outbox_web_sent_idx): a broadcast that waited behind later
    // replies is sent after them, so a cursor on the row id would skip it. Raw, as liveSession.
    const rows = await deps.database.sql<{ id: string; seq: string; payload: unknown }[]>`
      select id, sent_seq as seq, payload from outbox
      where channel = 'web' and chat_ref = ${sid} and sent_seq is not null and sent_seq > ${after}
      order by sent_seq limit ${PAGE}`;
    return rows.map((r) => ({ id: Number(r.id), seq: Number(r.seq), payload: r.payload }));
  }

  function routes(app: Hono) {
    app.use('/chat', webSecurityHeaders(), detectLanguage(deps.config.defaultLocale));
    app.use('/chat/*', webSecurityHeaders(), detectLanguage(deps.config.defaultLocale));
    app.use('/chat/api/*', sameOriginOnly(deps.config.http.publicUrl));

    app.get('/chat', (c) => {
      // The session is opened by the page's first API call, so a new visitor is greeted there.
      c.header('cache-control', 'no-store');
      return c.html(chatPage(localeOf(c, deps.config.defaultLocale), cspNonce(c), { maxTextLength: deps.config.maxTextLength }));
    });

    /** Opens (or resumes) a session; a brand-new one is greeted so the person needn't speak first. */
    app.post('/chat/api/session', limitBody(1024), async (c) => {
      if (await liveSession(c)) return c.json({ ok: true });
      // Each session is a new person: a client may open only so many.
      if (!(await sessionsPerAddress.take(clientKeyOf(c, secret, deps.config.web.trustProxy)))) return tooMany(c);
      const sid = await startSession(c, secret, secure);
      return deliver(c, sid, `${sid}:start`, { kind: 'text', text: '/start' }, true);
    });

    app.post('/chat/api/messages', jsonOnly, limitBody(MAX_MESSAGE_BYTES), async (c) => {
      const sid = await liveSession(c);
      if (!sid) return c.json({ error: 'no session: open /chat first' }, 401);
      if (!(await postsPerSession.take(sid))) return tooMany(c);
      const body = webMessageSchema.safeParse(await c.req.json().catch(() => undefined));
      if (!body.success) return c.json({ error: 'invalid message', issues: body.error.issues.map((i) => i.message) }, 400);
      const m = body.data;
      const messageRef = `${sid}:${m.clientMessageId}`;
      if ('text' in m) return deliver(c, sid, messageRef, { kind: 'text', text: m.text });
      if ('choice' in m) return deliver(c, sid, messageRef, { kind: 'choice', choice: m.choice });
      return deliver(c, sid, messageRef, { kind: 'location', location: m.location });
    });

    /**
     * A photo is taken only where the dialog asks for one, and only so many a day: everything is
     * decided on the headers, before a byte of the body is read.
     */
    app.post(
      '/chat/api/photos',
      async (c, next) => {
        const sid = await liveSession(c);
        if (!sid) return c.json({ error: 'no session: open /chat first' }, 401);
        if (!(await postsPerSession.take(sid))) return tooMany(c);
        if (!(await deps.acceptsPhoto(sid))) return c.json({ error: 'no photo is asked for now' }, 409);
        if (!(await photosPerSession.take(sid)) || !(await photosPerAddress.take(clientKeyOf(c, secret, deps.config.web.trustProxy)))) return tooMany(c);
        c.set('sid' as never, sid as never);
        return next();
      },
      limitBody(MAX_PHOTO_BYTES + 64 * 1024),
      async (c) => {
        const sid = c.get('sid' as never) as string;
        const form = await c.req.formData().catch(() => undefined);
        const file = form?.get('photo');
        const id = clientMessageId.safeParse(form?.get('clientMessageId'));
        if (!(file instanceof File) || !id.success) return c.json({ error: 'send multipart form-data with photo and clientMessageId' }, 400);
        if (file.size > MAX_PHOTO_BYTES) return c.json({ error: 'photo too large (10 MB at most)' }, 413);
        const bytes = Buffer.from(await file.arrayBuffer());
        const mimeType = detectImageType(bytes);
        if (!mimeType) return c.json({ error: 'only JPEG, PNG or WebP photos' }, 415);
        const key = await uploads.save(bytes, mimeType);
        try {
          return await deliver(c, sid, `${sid}:${id.data}`, { kind: 'photo', photo: { fileRef: `web:${key}`, mimeType } });
        } finally {
          // Read by the step (and so removed), not wanted (a duplicate) or refused (busy): never kept.
          await uploads.discard(key);
        }
      },
    );

    app.get('/chat/api/messages', async (c) => {
      const sid = await readSession(c, secret);
      if (!sid) return c.json({ error: 'no session: open /chat first' }, 401);
      const after = afterSchema.parse(c.req.query('after'));
      const deadline = Date.now() + (deps.longPollMs ?? LONG_POLL_MS);
      // Listening starts before each read, so a push that lands while the read runs is not missed.
      let woken = listen(sid, deadline);
      const k = known.get(sid);
      const upToDate = k?.valid && k.cursor === after && Date.now() - k.at < KNOWN_MS;
      let rows = upToDate ? [] : await readFor(sid, after);
      while (rows.length === 0 && Date.now() < deadline && onInbound) {
        await woken.promise;
        if (Date.now() >= deadline || !onInbound) break;
        woken.cancel();
        woken = listen(sid, deadline);
        rows = await readFor(sid, after);
      }
      woken.cancel();
      return c.json({
        messages: rows.map((r) => {
          const reply = replySchema.parse(r.payload);
          return {
            // The page's cursor (`after`): the row's place in the order of sending.
            id: r.seq,
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
      const sid = await readSession(c, secret);
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
