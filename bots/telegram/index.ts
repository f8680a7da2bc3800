import { Bot, GrammyError, HttpError, InputFile, webhookCallback } from 'grammy';
import type { Config } from '../../src/config.js';
import type { InboundEvent } from '../../src/dialog/events.js';
import type { Logger } from '../../src/log.js';
import { photoParts, sendParts, type ChannelAdapter, type MediaSource, type ReplyPart, type SendResult } from '../channel.js';
import { messages } from '../../src/i18n/index.js';
import { toInboundEvent } from './inbound.js';
import { inlineKeyboard } from './render.js';

export interface TelegramAdapter extends ChannelAdapter {
  /** Set in webhook mode: mount at POST /telegram/webhook. */
  webhook?: (req: Request) => Promise<Response>;
}

/**
 * Telegram through grammY: long polling by default (grammY handles one update at a time, which
 * keeps each chat's order), webhook with a secret token when configured. 429s are not retried
 * here: the delivery job reschedules by `retry_after`, so no auto-retry plugin.
 */
export function createTelegramAdapter(
  cfg: NonNullable<Config['telegram']>,
  deps: { logger: Logger; media?: MediaSource },
): TelegramAdapter {
  const bot = new Bot(cfg.token, { client: cfg.apiRoot ? { apiRoot: cfg.apiRoot } : {} });
  const log = deps.logger.child({ channel: 'telegram' });
  let onInbound: ((e: InboundEvent) => Promise<void>) | undefined;
  let stopped = false;
  /** Chats showing the location reply keyboard (best effort: a restart forgets, the keyboard is one-time anyway). */
  const locationShown = new Set<string>();

  bot.use(async (ctx) => {
    const event = toInboundEvent(ctx.update);
    if (ctx.update.callback_query) {
      await ctx.answerCallbackQuery().catch(() => {});
      // The pressed keyboard has been answered: take it off, so an old choice cannot be pressed again.
      if (ctx.update.callback_query.message) await ctx.editMessageReplyMarkup().catch(() => {});
    }
    if (!event || !onInbound) return;
    // Awaited, so grammY confirms the update only after it is stored (or refused).
    await onInbound(event);
  });
  bot.catch((err) => log.error({ updateId: err.ctx.update.update_id, err: err.error instanceof Error ? err.error.message : String(err.error) }, 'update failed'));

  const adapter: TelegramAdapter = {
    channel: 'telegram',
    async start(handler) {
      onInbound = handler;
      stopped = false;
      await bot.init();
      await bot.api
        .setMyCommands([
          { command: 'menu', description: '菜单 · Menu' },
          { command: 'help', description: '帮助 · Help' },
          { command: 'lang', description: '语言 · Language' },
          { command: 'mydata', description: '我的数据 · My data' },
        ])
        .catch((err) => log.warn({ err: err.message }, 'setMyCommands failed'));
      if (cfg.webhook) {
        await bot.api.setWebhook(cfg.webhook.url, { secret_token: cfg.webhook.secret, allowed_updates: ['message', 'callback_query'] });
        return;
      }
      await bot.api.deleteWebhook();
      void poll();
    },
    async stop() {
      stopped = true;
      onInbound = undefined;
      if (bot.isRunning()) await bot.stop();
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
        async () => {
          const sent = await bot.api.sendMessage(chatRef, reply.text, { reply_markup });
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
    const handle = webhookCallback(bot, 'std/http', { secretToken: cfg.webhook.secret });
    adapter.webhook = async (req) => {
      if (!onInbound) return new Response('not ready', { status: 503 });
      return handle(req);
    };
  }

  /** Long polling that survives network trouble and API errors: it logs and starts again. */
  async function poll() {
    let delay = 1000;
    while (!stopped) {
      try {
        await bot.start({ drop_pending_updates: false, allowed_updates: ['message', 'callback_query'] });
        return; // stopped on purpose
      } catch (err) {
        if (stopped) return;
        log.error({ err: (err as Error).message, retryInMs: delay }, 'polling failed; restarting');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  return adapter;
}

/** Maps a Bot API failure to what the delivery job should do. */
export function sendError(err: unknown): SendResult {
  if (err instanceof GrammyError) {
    if (err.error_code === 429) return { ok: false, retryAfterMs: (err.parameters.retry_after ?? 1) * 1000 };
    if (err.error_code === 403 || (err.error_code === 400 && /chat not found|user is deactivated/i.test(err.description))) {
      return { ok: false, blocked: true, reason: err.description };
    }
    return { ok: false, error: `${err.error_code} ${err.description}` };
  }
  if (err instanceof HttpError) return { ok: false, error: `network: ${err.message}` };
  return { ok: false, error: err instanceof Error ? err.message : String(err) };
}
