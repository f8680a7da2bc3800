import { timingSafeEqual } from 'node:crypto';
import { createConcurrentSink, createRunner, createSource, createUpdateFetcher, sequentialize, type RunnerHandle } from '@grammyjs/runner';
import { storeOrTell } from '../store-or-tell.js';
import { Bot, BotError, GrammyError, HttpError, InputFile, webhookCallback } from 'grammy';
import type { Update } from 'grammy/types';
import type { Config } from '../../src/config.js';
import type { InboundEvent } from '../../src/dialog/events.js';
import type { Logger } from '../../src/log.js';
import { photoParts, sendParts, textWithSkipNote, type ChannelAdapter, type MediaSource, type ReplyPart, type SendResult } from '../channel.js';
import { messages } from '../../src/i18n/index.js';
import { toInboundEvent } from './inbound.js';
import { inlineKeyboard } from './render.js';

const INIT_TIMEOUT_MS = 15_000;

/** The dialog could not record the update (the database is unreachable): the platform should send it again. */
class NotStored extends Error {
  constructor(readonly reason: unknown) {
    super('update not stored');
  }
}

export interface TelegramAdapter extends ChannelAdapter {
  /** Set in webhook mode: mount at POST /telegram/webhook. */
  webhook?: (req: Request) => Promise<Response>;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

/**
 * Telegram through grammY: long polling by default, webhook with a secret token when configured.
 * Polling runs on @grammyjs/runner, so updates from different chats are handled concurrently,
 * while `sequentialize` keeps each chat's updates in order. 429s are not retried here: the
 * delivery job reschedules by `retry_after`, so no auto-retry plugin.
 */
export function createTelegramAdapter(
  cfg: NonNullable<Config['telegram']>,
  deps: { logger: Logger; media?: MediaSource; storeRetryMs?: readonly number[] },
): TelegramAdapter {
  const bot = new Bot(cfg.token, { client: cfg.apiRoot ? { apiRoot: cfg.apiRoot } : {} });
  const log = deps.logger.child({ channel: 'telegram' });
  let onInbound: ((e: InboundEvent) => Promise<unknown>) | undefined;
  let runner: RunnerHandle | undefined;
  /** Updates of the current batch still being handled. */
  const inFlight = new Set<Promise<void>>();
  /** Chats showing the location reply keyboard (best effort: a restart forgets, the keyboard is one-time anyway). */
  const locationShown = new Set<string>();

  // First: an update waits for the earlier updates of its chat (or of its user, for a chat-less one).
  bot.use(sequentialize((ctx) => String(ctx.chat?.id ?? ctx.from?.id ?? '')));
  bot.use(async (ctx) => {
    const event = toInboundEvent(ctx.update);
    if (ctx.update.callback_query) {
      await ctx.answerCallbackQuery().catch(() => {});
      // The pressed keyboard has been answered: take it off, so an old choice cannot be pressed again.
      if (ctx.update.callback_query.message) await ctx.editMessageReplyMarkup().catch(() => {});
    }
    if (!event || !onInbound) return;
    const store = onInbound;
    // A webhook update that could not be stored is answered 503, and Telegram sends it again.
    if (cfg.webhook) {
      await store(event).catch((err) => {
        throw new NotStored(err);
      });
      return;
    }
    // Polled: the next getUpdates confirms it, so it is held here until it is stored (awaited:
    // that fetch waits for it), or the person is told it was not.
    await storeOrTell(event, store, (text) => bot.api.sendMessage(event.chatRef, text), {
      logger: log,
      running: () => runner !== undefined,
      retryMs: deps.storeRetryMs,
    });
  });
  // The error boundary of a polled update (grammY's BotError carries the token: log ids only).
  bot.catch((err) => log.error({ updateId: err.ctx.update.update_id, err: err.error }, 'update failed'));

  const adapter: TelegramAdapter = {
    channel: 'telegram',
    async start(handler) {
      onInbound = handler;
      // One getMe rather than bot.init(), which retries for ever without a word: the caller logs
      // this failure with its reason and tries again with backoff.
      if (!bot.isInited()) bot.botInfo = await bot.api.getMe(AbortSignal.timeout(INIT_TIMEOUT_MS) as never);
      await bot.api
        .setMyCommands([
          { command: 'menu', description: '菜单 · Menu' },
          { command: 'help', description: '帮助 · Help' },
          { command: 'lang', description: '语言 · Language' },
          { command: 'mydata', description: '我的数据 · My data' },
        ])
        .catch((err) => log.warn({ err: err.message }, 'setMyCommands failed'));
      if (cfg.webhook) {
        await bot.api.setWebhook(cfg.webhook.url, { secret_token: cfg.webhook.secret, allowed_updates: [...ALLOWED_UPDATES] });
        return;
      }
      await bot.api.deleteWebhook();
      runner = startPolling();
    },
    /** Stops fetching, then waits for the updates already fetched to be handled. */
    async stop() {
      const r = runner;
      runner = undefined;
      if (r?.isRunning()) await r.stop();
      await Promise.allSettled([...inFlight]);
      onInbound = undefined;
    },
    async send(chatRef, reply, progress): Promise<SendResult> {
      const keyboard = inlineKeyboard(reply);
      const locationKeyboard = {
        keyboard: [[{ text: `📍 ${messages(reply.locale).webchat.shareLocation}`, request_location: true }]],
        resize_keyboard: true,
        one_time_keyboard: true,
      };
      // The location button is a reply keyboard, which stays until removed: the first reply after
      // the location step removes it (a message carries one keyboard, so inline buttons are added by an edit).
      const dropLocation = !reply.requestLocation && locationShown.has(chatRef);
      if (reply.requestLocation) locationShown.add(chatRef);
      const reply_markup = dropLocation
        ? { remove_keyboard: true as const }
        : keyboard
          ? { inline_keyboard: keyboard }
          : reply.requestLocation
            ? locationKeyboard
            : undefined;
      const parts: ReplyPart[] = [
        ...photoParts(reply, deps.media, (bytes, photo) => bot.api.sendPhoto(chatRef, new InputFile(bytes), { caption: photo.caption })),
        async (skipped) => {
          const sent = await bot.api.sendMessage(chatRef, textWithSkipNote(reply, skipped), { reply_markup });
          if (dropLocation) {
            locationShown.delete(chatRef);
            if (keyboard) await bot.api.editMessageReplyMarkup(chatRef, sent.message_id, { reply_markup: { inline_keyboard: keyboard } });
          }
          return String(sent.message_id);
        },
      ];
      // A message carries one keyboard: with choices inline, the location button follows on its own.
      if (keyboard && reply.requestLocation) {
        parts.push(async () => {
          await bot.api.sendMessage(chatRef, '📍', { reply_markup: locationKeyboard });
          return undefined;
        });
      }
      return sendParts(parts, progress, sendError);
    },
    async fetchMedia(fileRef) {
      const fileId = /^tg:(.+)$/.exec(fileRef)?.[1];
      if (!fileId) throw new Error('not a Telegram file');
      const file = await bot.api.getFile(fileId);
      if (!file.file_path) throw new Error('Telegram gave no file path');
      const root = cfg.apiRoot ?? 'https://api.telegram.org';
      const res = await fetch(`${root}/file/bot${cfg.token}/${file.file_path}`);
      if (!res.ok) throw new Error(`file download failed: ${res.status}`);
      return { bytes: Buffer.from(await res.arrayBuffer()), mimeType: res.headers.get('content-type') ?? 'image/jpeg' };
    },
  };
  if (cfg.webhook) {
    const secret = Buffer.from(cfg.webhook.secret);
    const handle = webhookCallback(bot, 'std/http', { secretToken: cfg.webhook.secret });
    /**
     * The webhook's error boundary. The secret is checked before anything else, and a request
     * is never left waiting on the Bot API: until the bot is initialised it is answered 503 (Telegram
     * sends it again later). An update we could not store is answered 503 too, so Telegram retries
     * it, as is one that took too long (a retry is harmless: updates are stored once). A failure
     * in handling is logged with the update id and answered 200, since sending the same update
     * again would fail the same way.
     */
    adapter.webhook = async (req) => {
      const given = Buffer.from(req.headers.get('x-telegram-bot-api-secret-token') ?? '');
      if (given.length !== secret.length || !timingSafeEqual(given, secret)) return new Response('unauthorized', { status: 401 });
      if (!onInbound || !bot.isInited()) return new Response('not ready', { status: 503 });
      try {
        return await handle(req);
      } catch (err) {
        if (err instanceof SyntaxError) return new Response('bad request', { status: 400 });
        if (!(err instanceof BotError)) {
          if (err instanceof Error && /timed out/i.test(err.message)) {
            log.warn({ err }, 'webhook update timed out; Telegram will retry');
            return new Response('retry later', { status: 503 });
          }
          // Not an update at all (null, a bare number…): nothing Telegram sends, nothing to retry.
          return new Response('bad request', { status: 400 });
        }
        const updateId = err.ctx.update.update_id;
        if (err.error instanceof NotStored) {
          log.error({ updateId, err: err.error.reason }, 'update not stored; Telegram will retry');
          return new Response('retry later', { status: 503 });
        }
        log.error({ updateId, err: err.error }, 'update failed');
        return new Response('ok', { status: 200 });
      }
    };
  }

  /**
   * Long polling on the runner's pieces. The next getUpdates, whose offset confirms the previous
   * batch to Telegram, waits until every update of that batch has been handled: an update is
   * confirmed only once it is stored (or refused), so a crash loses nothing (Telegram sends it
   * again, and the inbound record makes the copy a no-op). Within a batch (up to 100 updates,
   * which is when it matters) chats run concurrently. The fetcher retries network and API
   * errors with back-off, and gives up only on 401 (bad token) and 409 (another poller).
   */
  function startPolling(): RunnerHandle {
    const fetchUpdates = createUpdateFetcher(bot, { fetch: { allowed_updates: [...ALLOWED_UPDATES] }, silent: true });
    const source = createSource({
      async supply(batchSize, signal) {
        await Promise.allSettled([...inFlight]);
        return fetchUpdates(batchSize, signal);
      },
    });
    const sink = createConcurrentSink<Update>(
      {
        consume(update) {
          const handled = bot.handleUpdate(update).finally(() => inFlight.delete(handled));
          inFlight.add(handled);
          return handled;
        },
      },
      async (error) => {
        await bot.errorHandler(error as BotError);
      },
    );
    const handle = createRunner(source, sink);
    handle.start();
    handle.task()?.catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'polling stopped'));
    return handle;
  }

  return adapter;
}

/** Maps a Bot API failure to what the delivery job should do. */
export function sendError(err: unknown): SendResult {
  if (err instanceof GrammyError) {
    if (err.error_code === 429) return { ok: false, retryAfterMs: (err.parameters.retry_after ?? 1) * 1000 };
    // The photo itself is unacceptable to Telegram; no retry will change that.
    if (err.error_code === 400 && /PHOTO_|IMAGE_PROCESS_FAILED|wrong file|file is too big|wrong type of the web page content/i.test(err.description)) {
      return { ok: false, partRefused: true, reason: `${err.error_code} ${err.description}` };
    }
    if (err.error_code === 403 || (err.error_code === 400 && /chat not found|user is deactivated/i.test(err.description))) {
      return { ok: false, blocked: true, reason: err.description };
    }
    return { ok: false, error: `${err.error_code} ${err.description}` };
  }
  if (err instanceof HttpError) return { ok: false, error: `network: ${err.message}` };
  return { ok: false, error: err instanceof Error ? err.message : String(err) };
}
