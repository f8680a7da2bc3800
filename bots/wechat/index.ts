import { FileBox } from 'file-box';
import { WechatyBuilder, type Message, type Wechaty } from 'wechaty';
import type { Config } from '../../src/config.js';
import type { InboundEvent } from '../../src/dialog/events.js';
import { renderNumbered } from '../../src/dialog/render.js';
import { storeOrTell } from '../store-or-tell.js';
import type { Logger } from '../../src/log.js';
import { photoParts, sendParts, type ChannelAdapter, type MediaSource, type ReplyPart, type SendResult } from '../channel.js';
import { WECHAT_TYPES, toInboundEvent } from './inbound.js';

/** How many recent message ids we remember to skip obvious repeats before touching the database. */
const RECENT_IDS = 2_000;

/**
 * WeChat through wechaty. Private chats only; choices are numbered lines (WeChat has no
 * buttons). A puppet failure restarts wechaty with backoff instead of taking the process down.
 */
export function createWechatAdapter(
  cfg: NonNullable<Config['wechat']>,
  deps: { logger: Logger; media?: MediaSource; puppet?: unknown; storeRetryMs?: readonly number[] },
): ChannelAdapter & { readonly bot: () => Wechaty | undefined } {
  const log = deps.logger.child({ channel: 'wechat' });
  let bot: Wechaty | undefined;
  let onInbound: ((e: InboundEvent) => Promise<unknown>) | undefined;
  let stopped = true;
  let restartDelay = 1000;
  let restarting = false;
  let failedDuringRestart = false;
  const recent = new Set<string>();
  const messages = new Map<string, Message>();

  function remember(id: string): boolean {
    if (recent.has(id)) return false;
    recent.add(id);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
    return true;
  }

  async function onMessage(message: Message) {
    if (message.self()) return; // our own replies come back as messages too
    if (!remember(message.id)) return;
    const talker = message.talker();
    const type = message.type();
    let location: { latitude: number; longitude: number; name?: string; address?: string } | undefined;
    if (type === WECHAT_TYPES.Location) {
      const loc = await message.toLocation().catch(() => undefined);
      if (loc) location = { latitude: loc.latitude(), longitude: loc.longitude(), name: loc.name(), address: loc.address() };
    }
    const event = toInboundEvent({ id: message.id, type, text: message.text(), talkerId: talker.id, inRoom: !!message.room(), location });
    if (!event || !onInbound) return;
    if (event.kind === 'photo') {
      messages.set(message.id, message);
      if (messages.size > 500) messages.delete(messages.keys().next().value!);
    }
    // WeChat never hands a message over again: it is stored, or the person is told it was not.
    await storeOrTell(event, onInbound, (text) => talker.say(text), {
      logger: log,
      running: () => !stopped,
      retryMs: deps.storeRetryMs,
    });
  }

  function build(): Wechaty {
    const instance = WechatyBuilder.build({
      name: cfg.name,
      puppet: (deps.puppet ?? cfg.puppet) as any,
      puppetOptions: cfg.token ? { token: cfg.token } : undefined,
    });
    instance.on('message', (m) =>
      onMessage(m).catch((err) => log.error({ messageId: m.id, err: (err as Error).message }, 'message failed')),
    );
    instance.on('scan', (qrcode) => log.info({ qr: `https://wechaty.js.org/qrcode/${encodeURIComponent(qrcode)}` }, 'WeChat login needed: scan the QR code'));
    instance.on('login', () => {
      restartDelay = 1000;
      log.info('WeChat logged in');
    });
    instance.on('error', (err) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'wechaty error; restarting');
      if (restarting) failedDuringRestart = true;
      else void restart();
    });
    return instance;
  }

  /**
   * A puppet named in the config is made afresh with a new wechaty. A puppet instance given to us
   * can belong to one wechaty only (wechaty hands it its memory once, and a second wechaty fails
   * with "Puppet memory can be only set once"), so that wechaty is stopped and started again.
   */
  function fresh(): Wechaty {
    return deps.puppet && bot ? bot : build();
  }

  /**
   * Stops and starts wechaty with backoff until a start goes through. A loop, not recursion, so
   * only one restart runs at a time; wechaty reports a failed puppet start as an 'error' event
   * rather than a rejection, so an error seen while restarting means "go round again".
   */
  async function restart() {
    if (restarting || stopped) return;
    restarting = true;
    try {
      while (!stopped) {
        failedDuringRestart = false;
        await bot?.stop().catch(() => {});
        await new Promise((r) => setTimeout(r, restartDelay));
        restartDelay = Math.min(restartDelay * 2, 60_000);
        if (stopped) return;
        try {
          bot = fresh();
          await bot.start();
          if (!failedDuringRestart) return;
        } catch (err) {
          log.error({ err: (err as Error).message }, 'wechaty restart failed; trying again');
        }
      }
    } finally {
      restarting = false;
    }
  }

  return {
    channel: 'wechat',
    bot: () => bot,
    async start(handler) {
      onInbound = handler;
      stopped = false;
      bot = fresh();
      await bot.start();
    },
    async stop() {
      stopped = true;
      onInbound = undefined;
      await bot?.stop().catch(() => {});
    },
    async send(chatRef, reply, progress): Promise<SendResult> {
      if (!bot?.isLoggedIn) return { ok: false, error: 'WeChat is not logged in' };
      const failure = (err: unknown): SendResult => ({ ok: false, error: err instanceof Error ? err.message : String(err) });
      let contact;
      try {
        contact = await bot.Contact.find({ id: chatRef });
      } catch (err) {
        return failure(err);
      }
      if (!contact) return { ok: false, blocked: true, reason: 'contact not found' };
      const parts: ReplyPart[] = [
        // Base64, not a buffer box: puppets serialise what they send, and a buffer FileBox cannot be (file-box#25).
        ...photoParts(reply, deps.media, (bytes, photo) => contact.say(FileBox.fromBase64(Buffer.from(bytes).toString('base64'), photo.fileRef))),
        async () => (await contact.say(renderNumbered(reply)))?.id,
      ];
      return sendParts(parts, progress, failure);
    },
    async fetchMedia(fileRef) {
      const id = /^wx:(.+)$/.exec(fileRef)?.[1];
      const message = id ? (messages.get(id) ?? (await bot?.Message.find({ id }))) : undefined;
      if (!message) throw new Error('WeChat message not available');
      const box = await message.toFileBox();
      return { bytes: await box.toBuffer(), mimeType: box.mediaType || 'image/jpeg' };
    },
  };
}
