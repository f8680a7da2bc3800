import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FloodControl, type TelegramLimits } from './telegram-limits.js';
import { readParams } from './telegram-multipart.js';

/**
 * A small, real Telegram Bot API server for end-to-end tests: grammY talks to it over HTTP exactly
 * as it talks to api.telegram.org (`POST {root}/bot{token}/{method}`, JSON or multipart), and the
 * test plays the users (enqueueing updates) and reads what the bot sent.
 *
 * It follows the documented behaviour where it matters for us: long polling with `offset`
 * confirming earlier updates and `timeout` in seconds, 409 while a webhook is set or when a second
 * getUpdates replaces the first, 400 for an unknown chat or an empty/over-long text or callback
 * data over 64 bytes, 401 for a wrong token, `{ok:false,error_code,description,parameters}` errors.
 * Started with `limits`, it enforces Telegram's flood limits on sends (global per second, per chat
 * per second, per group per minute; tests/support/telegram-limits.ts) and answers a send beyond
 * them with 429 and `parameters.retry_after`, as Telegram does.
 */

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
  language_code?: string;
}

export interface TgChat {
  id: number;
  type: 'private';
  first_name: string;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
}

export interface ReplyMarkup {
  inline_keyboard?: InlineKeyboardButton[][];
  keyboard?: { text: string; request_location?: boolean }[][];
  [key: string]: unknown;
}

export interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: TgChat;
  date: number;
  text?: string;
  entities?: { type: string; offset: number; length: number }[];
  caption?: string;
  photo?: { file_id: string; file_unique_id: string; width: number; height: number; file_size?: number }[];
  reply_markup?: ReplyMarkup;
}

export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  callback_query?: { id: string; from: TgUser; message?: TgMessage; chat_instance: string; data?: string };
}

/** A message the bot sent (sendMessage or sendPhoto), as recorded by the emulator. */
export interface SentMessage {
  method: 'sendMessage' | 'sendPhoto';
  message_id: number;
  chat_id: number;
  /** The message text, or a photo's caption ('' when none). */
  text: string;
  reply_markup?: ReplyMarkup;
  /** Uploaded bytes for sendPhoto with an InputFile. */
  photoBytes?: Buffer;
  /** Emulator clock (ms) when it was accepted. */
  at: number;
}

/** Every API call the bot made, including the failed ones. */
export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** 0 when answered ok, otherwise the error_code sent back (-1: dropped unanswered, its caller gone while held). */
  errorCode: number;
  /** The seconds a 429 told the caller to wait. */
  retryAfter?: number;
}

export type InjectedError =
  | { error_code: 429; retry_after: number; description?: string }
  | { error_code: number; description: string; retry_after?: number };

export interface UserOptions {
  languageCode?: string;
  firstName?: string;
}

class ApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

interface Pending {
  update: TgUpdate;
  /** A redelivered update is handed out even though an earlier offset confirmed its id. */
  redelivered: boolean;
  handedOut: boolean;
}

interface Waiter {
  wake: (conflict?: boolean) => void;
}

const now = () => Math.floor(Date.now() / 1000);

export class TelegramEmulator {
  readonly me: TgUser = { id: 123456, is_bot: true, first_name: 'Linli Test', username: 'linli_test_bot' };
  /** Bot messages, oldest first. */
  readonly sent: SentMessage[] = [];
  /** Every API call in order. */
  readonly calls: ApiCall[] = [];
  commands: unknown[] = [];
  webhook: { url: string; secret_token?: string } | undefined;
  answeredCallbacks = new Set<string>();

  private server: Server;
  /** Open client connections, to tell when a killed caller's are seen closed (`openFrom`). */
  private sockets = new Set<Socket>();
  private root = '';
  private nextUpdateId = 1000;
  private queue: Pending[] = [];
  /** Every update ever created, by id, for redelivery. */
  private history = new Map<number, TgUpdate>();
  /** The highest offset a getUpdates call has confirmed. */
  private confirmedOffset = 0;
  private waiter: Waiter | undefined;
  private failures: { method: string; error: InjectedError; chatId?: number }[] = [];
  private users = new Map<number, TgUser>();
  private chatMessageIds = new Map<number, number>();
  private files = new Map<string, { path: string; bytes: Buffer; uniqueId: string }>();
  private callbackSeq = 0;
  /** Sends wait here while the network is held (`hold()`). */
  private held: (() => void)[] | undefined;
  /** The flood limits, when started with `limits`. */
  readonly flood: FloodControl | undefined;

  private constructor(readonly token: string, limits?: TelegramLimits) {
    this.server = createServer((req, res) => void this.route(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.flood = limits ? new FloodControl(limits) : undefined;
  }

  static async start(opts: { token?: string; limits?: TelegramLimits } = {}): Promise<TelegramEmulator> {
    const emu = new TelegramEmulator(opts.token ?? '123456:TEST-token', opts.limits);
    await new Promise<void>((resolve, reject) => {
      emu.server.once('error', reject);
      emu.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = emu.server.address() as AddressInfo;
    emu.root = `http://127.0.0.1:${port}`;
    return emu;
  }

  /** The apiRoot to give grammY (TELEGRAM_API_ROOT). */
  get url(): string {
    return this.root;
  }

  // ---- the test's side: users acting -------------------------------------------------------

  /** A user writes to the bot in their private chat; returns the update_id. */
  userSendsText(userId: number, text: string, opts: UserOptions = {}): number {
    const from = this.user(userId, opts);
    const message: TgMessage = { message_id: this.nextMessageId(userId), from, chat: this.chatOf(from), date: now(), text };
    const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
    if (command) message.entities = [{ type: 'bot_command', offset: 0, length: command[0].length }];
    return this.enqueue({ update_id: this.nextUpdateId++, message });
  }

  /**
   * The update Telegram would POST to a webhook when the user writes `text` (the user becomes
   * known to the emulator, so the bot may answer them); not queued for getUpdates.
   */
  webhookTextUpdate(userId: number, text: string, opts: UserOptions = {}): TgUpdate {
    const from = this.user(userId, opts);
    const message: TgMessage = { message_id: this.nextMessageId(userId), from, chat: this.chatOf(from), date: now(), text };
    return { update_id: this.nextUpdateId++, message };
  }

  /** A user sends a photo (bytes served by getFile + the file URL); returns the update_id. */
  userSendsPhoto(userId: number, bytes: Buffer, caption?: string, opts: UserOptions = {}): number {
    const from = this.user(userId, opts);
    const small = this.addFile(bytes.subarray(0, Math.min(bytes.length, 16)), 'photos/small.jpg');
    const large = this.addFile(bytes, `photos/file_${this.files.size}.jpg`);
    const message: TgMessage = {
      message_id: this.nextMessageId(userId),
      from,
      chat: this.chatOf(from),
      date: now(),
      caption,
      photo: [
        { file_id: small, file_unique_id: this.files.get(small)!.uniqueId, width: 90, height: 90 },
        { file_id: large, file_unique_id: this.files.get(large)!.uniqueId, width: 1280, height: 960, file_size: bytes.length },
      ],
    };
    return this.enqueue({ update_id: this.nextUpdateId++, message });
  }

  /**
   * A user presses an inline button under one of the bot's messages. Fails like a test should if
   * that message has no button with this callback data (Telegram could not have sent the query).
   */
  userPressesButton(userId: number, callbackData: string, messageId: number, opts: UserOptions = {}): number {
    const message = this.sent.find((m) => m.chat_id === userId && m.message_id === messageId);
    if (!message) throw new Error(`the bot sent no message ${messageId} to chat ${userId}`);
    const buttons = message.reply_markup?.inline_keyboard?.flat() ?? [];
    if (!buttons.some((b) => b.callback_data === callbackData)) {
      throw new Error(`message ${messageId} has no button with callback_data ${JSON.stringify(callbackData)}`);
    }
    const from = this.user(userId, opts);
    return this.enqueue({
      update_id: this.nextUpdateId++,
      callback_query: {
        id: `${Date.now()}${++this.callbackSeq}`,
        from,
        message: { message_id: message.message_id, from: this.me, chat: this.chatOf(from), date: Math.floor(message.at / 1000), text: message.text, reply_markup: message.reply_markup },
        chat_instance: `ci${userId}`,
        data: callbackData,
      },
    });
  }

  /** Queues an update again with the same update_id (Telegram's at-least-once delivery). */
  redeliver(updateId: number): void {
    const update = this.history.get(updateId);
    if (!update) throw new Error(`no update ${updateId}`);
    this.queue.push({ update: structuredClone(update), redelivered: true, handedOut: false });
    this.waiter?.wake();
  }

  /** The next call of `method` (to `chatId`, when given) answers with this error instead. */
  failNext(method: string, error: InjectedError, opts: { chatId?: number } = {}): void {
    this.failures.push({ method, error, chatId: opts.chatId });
  }

  /**
   * Users who wrote to the bot at some time (the chats a broadcast may reach), in bulk: ids only.
   */
  knowUsers(userIds: Iterable<number>): void {
    for (const id of userIds) if (!this.users.has(id)) this.users.set(id, { id, is_bot: false, first_name: `User${id}` });
  }

  /**
   * Holds every send at the door until `release()`, as a stalled network would: nothing held has
   * reached Telegram, so a send whose caller dies meanwhile (its socket closes) is never
   * delivered. Lets a test kill a worker while its calls are in flight but none is accepted.
   */
  hold(): void {
    this.held ??= [];
  }

  /**
   * How many connections from these client ports this server still has open. A caller killed
   * while its calls are held has its sockets closed by the kernel at once, but this process sees
   * that only when its event loop reads the close; until then a released call would look alive.
   */
  openFrom(clientPorts: ReadonlySet<number>): number {
    let n = 0;
    for (const s of this.sockets) if (!s.destroyed && s.remotePort !== undefined && clientPorts.has(s.remotePort)) n++;
    return n;
  }

  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const go of waiting) go();
  }

  /** Messages each chat got whose text (or caption) contains `needle`. */
  copiesByChat(needle: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const m of this.sent) if (m.text.includes(needle)) out.set(m.chat_id, (out.get(m.chat_id) ?? 0) + 1);
    return out;
  }

  /** True once the bot confirmed the update (a later getUpdates offset passed it) and no copy is queued. */
  isConfirmed(updateId: number): boolean {
    return this.confirmedOffset > updateId && !this.queue.some((p) => p.update.update_id === updateId);
  }

  async waitConfirmed(updateId: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isConfirmed(updateId)) {
      if (Date.now() > deadline) throw new Error(`update ${updateId} was not confirmed within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  sentTo(chatId: number): SentMessage[] {
    return this.sent.filter((m) => m.chat_id === chatId);
  }

  callsOf(method: string, chatId?: number): ApiCall[] {
    return this.calls.filter((c) => c.method === method && (chatId === undefined || Number(c.params.chat_id) === chatId));
  }

  /** Stores bytes the bot can fetch with getFile; returns the file_id. */
  addFile(bytes: Buffer, path: string): string {
    const fileId = `F${randomBytes(8).toString('hex')}`;
    this.files.set(fileId, { path, bytes, uniqueId: `U${randomBytes(4).toString('hex')}` });
    return fileId;
  }

  async close(): Promise<void> {
    this.waiter?.wake();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- the bot's side: the Bot API ---------------------------------------------------------

  private async route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.root);
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file && req.method === 'GET') return this.serveFile(file[1]!, decodeURIComponent(file[2]!), res);
    const call = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!call) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = call as unknown as [string, string, string];
    let params: Record<string, unknown> = {};
    try {
      params = { ...Object.fromEntries(url.searchParams), ...(await readParams(req, url)) };
    } catch (err) {
      return reply(res, 400, { ok: false, error_code: 400, description: `Bad Request: ${(err as Error).message}` });
    }
    const record: ApiCall = { method, params, at: Date.now(), errorCode: 0 };
    this.calls.push(record);
    try {
      if (token !== this.token) throw new ApiError(401, 'Unauthorized');
      const injected = this.takeFailure(method, params);
      if (injected) {
        const parameters = injected.retry_after !== undefined ? { retry_after: injected.retry_after } : undefined;
        const description = injected.description ?? (injected.error_code === 429 ? `Too Many Requests: retry after ${injected.retry_after}` : 'Error');
        throw new ApiError(injected.error_code, description, parameters);
      }
      if (SENDS.has(method)) {
        if (this.held) await new Promise<void>((go) => this.held!.push(go));
        // Its caller went away while held: the call never reached Telegram.
        if (req.socket.destroyed) {
          record.errorCode = -1;
          return;
        }
        const admitted = this.flood?.admit(Number(params.chat_id), Date.now());
        if (admitted && !admitted.ok) {
          throw new ApiError(429, `Too Many Requests: retry after ${admitted.retryAfter}`, { retry_after: admitted.retryAfter });
        }
      }
      const result = await this.handle(method, params, req);
      if (!res.writableEnded && !res.destroyed) reply(res, 200, { ok: true, result });
    } catch (err) {
      if (!(err instanceof ApiError)) {
        record.errorCode = 500;
        return reply(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${(err as Error).message}` });
      }
      record.errorCode = err.errorCode;
      if (typeof err.parameters?.retry_after === 'number') record.retryAfter = err.parameters.retry_after;
      reply(res, err.errorCode, {
        ok: false,
        error_code: err.errorCode,
        description: err.description,
        ...(err.parameters ? { parameters: err.parameters } : {}),
      });
    }
  }

  private async handle(method: string, p: Record<string, unknown>, req: IncomingMessage): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return { ...this.me, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'getUpdates':
        return this.getUpdates(p, req);
      case 'deleteWebhook':
        this.webhook = undefined;
        if (p.drop_pending_updates === true || p.drop_pending_updates === 'true') this.queue = [];
        return true;
      case 'setWebhook':
        if (typeof p.url !== 'string') throw new ApiError(400, 'Bad Request: bad webhook: URL must be provided');
        this.webhook = p.url ? { url: p.url, secret_token: p.secret_token as string | undefined } : undefined;
        return true;
      case 'getWebhookInfo':
        return { url: this.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: this.queue.length };
      case 'setMyCommands':
        this.commands = jsonParam(p.commands) as unknown[];
        return true;
      case 'sendMessage':
        return this.sendMessage(p);
      case 'sendPhoto':
        return this.sendPhoto(p);
      case 'editMessageReplyMarkup': {
        const sent = this.sent.find((m) => m.chat_id === Number(p.chat_id) && m.message_id === Number(p.message_id));
        if (!sent) throw new ApiError(400, 'Bad Request: message to edit not found');
        const markup = p.reply_markup === undefined ? undefined : (jsonParam(p.reply_markup) as ReplyMarkup);
        if (markup) sent.reply_markup = markup;
        else delete sent.reply_markup;
        return true;
      }
      case 'answerCallbackQuery':
        if (typeof p.callback_query_id !== 'string' || !p.callback_query_id) throw new ApiError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        this.answeredCallbacks.add(p.callback_query_id);
        return true;
      case 'getFile': {
        const f = this.files.get(String(p.file_id));
        if (!f) throw new ApiError(400, 'Bad Request: invalid file_id');
        return { file_id: String(p.file_id), file_unique_id: f.uniqueId, file_size: f.bytes.length, file_path: f.path };
      }
      default:
        throw new ApiError(404, 'Not Found');
    }
  }

  private getUpdates(p: Record<string, unknown>, req: IncomingMessage): Promise<TgUpdate[]> | TgUpdate[] {
    if (this.webhook) throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    const offset = p.offset === undefined ? 0 : Number(p.offset);
    const limit = Math.min(Math.max(p.limit === undefined ? 100 : Number(p.limit), 1), 100);
    const timeout = p.timeout === undefined ? 0 : Number(p.timeout);
    // A newer getUpdates replaces a waiting one, as on Telegram.
    this.waiter?.wake(true);
    this.waiter = undefined;
    if (offset > 0) {
      // Updates below the offset are confirmed; a redelivered copy counts once it was handed out.
      this.confirmedOffset = Math.max(this.confirmedOffset, offset);
      this.queue = this.queue.filter((q) => q.update.update_id >= offset || (q.redelivered && !q.handedOut));
    }
    const take = () => {
      const batch = this.queue.slice(0, limit);
      for (const q of batch) q.handedOut = true;
      return batch.map((q) => q.update);
    };
    if (this.queue.length || timeout <= 0) return take();
    return new Promise<TgUpdate[]>((resolve, reject) => {
      const timer = setTimeout(() => done(), timeout * 1000);
      const onClose = () => done();
      let settled = false;
      const done = (conflict = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.socket.off('close', onClose);
        if (this.waiter === waiter) this.waiter = undefined;
        if (conflict) reject(new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
        else resolve(req.socket.destroyed ? [] : take());
      };
      const waiter: Waiter = { wake: done };
      this.waiter = waiter;
      // grammY aborts the pending poll on stop(): the socket closes and nothing is handed out.
      req.socket.once('close', onClose);
    });
  }

  private sendMessage(p: Record<string, unknown>): TgMessage {
    const chat = this.knownChat(p.chat_id);
    const text = typeof p.text === 'string' ? p.text : p.text === undefined ? '' : String(p.text);
    if (text.trim() === '') throw new ApiError(400, 'Bad Request: message text is empty');
    if ([...text].length > 4096) throw new ApiError(400, 'Bad Request: message is too long');
    const markup = validMarkup(p.reply_markup);
    const message: TgMessage = { message_id: this.nextMessageId(chat.id), from: this.me, chat, date: now(), text, ...(markup ? { reply_markup: markup } : {}) };
    this.sent.push({ method: 'sendMessage', message_id: message.message_id, chat_id: chat.id, text, reply_markup: markup, at: Date.now() });
    return message;
  }

  private sendPhoto(p: Record<string, unknown>): TgMessage {
    const chat = this.knownChat(p.chat_id);
    const caption = typeof p.caption === 'string' ? p.caption : '';
    if ([...caption].length > 1024) throw new ApiError(400, 'Bad Request: message caption is too long');
    let bytes: Buffer | undefined;
    if (p.photo instanceof Uint8Array) bytes = Buffer.from(p.photo);
    else if (typeof p.photo === 'string' && this.files.has(p.photo)) bytes = this.files.get(p.photo)!.bytes;
    else throw new ApiError(400, 'Bad Request: there is no photo in the request');
    if (bytes.length === 0) throw new ApiError(400, 'Bad Request: file must be non-empty');
    const markup = validMarkup(p.reply_markup);
    const fileId = this.addFile(bytes, `photos/sent_${this.files.size}.jpg`);
    const message: TgMessage = {
      message_id: this.nextMessageId(chat.id),
      from: this.me,
      chat,
      date: now(),
      ...(caption ? { caption } : {}),
      photo: [{ file_id: fileId, file_unique_id: this.files.get(fileId)!.uniqueId, width: 800, height: 600, file_size: bytes.length }],
    };
    this.sent.push({ method: 'sendPhoto', message_id: message.message_id, chat_id: chat.id, text: caption, reply_markup: markup, photoBytes: bytes, at: Date.now() });
    return message;
  }

  private serveFile(token: string, path: string, res: ServerResponse) {
    const f = token === this.token ? [...this.files.values()].find((x) => x.path === path) : undefined;
    if (!f) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': f.bytes.length });
    res.end(f.bytes);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private enqueue(update: TgUpdate): number {
    this.history.set(update.update_id, structuredClone(update));
    this.queue.push({ update, redelivered: false, handedOut: false });
    this.waiter?.wake();
    return update.update_id;
  }

  private takeFailure(method: string, p: Record<string, unknown>): InjectedError | undefined {
    const i = this.failures.findIndex((f) => f.method === method && (f.chatId === undefined || Number(p.chat_id) === f.chatId));
    if (i < 0) return undefined;
    return this.failures.splice(i, 1)[0]!.error;
  }

  private user(userId: number, opts: UserOptions): TgUser {
    const known = this.users.get(userId);
    const user: TgUser = {
      id: userId,
      is_bot: false,
      first_name: opts.firstName ?? known?.first_name ?? `User${userId}`,
      ...((opts.languageCode ?? known?.language_code) ? { language_code: opts.languageCode ?? known?.language_code } : {}),
    };
    this.users.set(userId, user);
    return user;
  }

  private chatOf(user: TgUser): TgChat {
    return { id: user.id, type: 'private', first_name: user.first_name };
  }

  /** Only users who wrote to the bot have a chat with it. */
  private knownChat(chatId: unknown): TgChat {
    const id = Number(chatId);
    const user = Number.isSafeInteger(id) ? this.users.get(id) : undefined;
    if (!user) throw new ApiError(400, 'Bad Request: chat not found');
    return this.chatOf(user);
  }

  /** In a private chat both sides' messages share one message_id sequence. */
  private nextMessageId(chatId: number): number {
    const next = (this.chatMessageIds.get(chatId) ?? 0) + 1;
    this.chatMessageIds.set(chatId, next);
    return next;
  }
}

/** The calls that send a message, counted against the flood limits. */
const SENDS = new Set(['sendMessage', 'sendPhoto']);

function reply(res: ServerResponse, status: number, body: unknown) {
  if (res.writableEnded || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function jsonParam(v: unknown): unknown {
  return typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
}

/** Telegram refuses buttons without text and callback data over 64 bytes (BUTTON_DATA_INVALID). */
function validMarkup(raw: unknown): ReplyMarkup | undefined {
  if (raw === undefined) return undefined;
  const markup = jsonParam(raw) as ReplyMarkup;
  if (typeof markup !== 'object' || markup === null) throw new ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object");
  for (const row of markup.inline_keyboard ?? []) {
    if (!Array.isArray(row)) throw new ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
    for (const b of row) {
      if (typeof b.text !== 'string' || b.text === '') throw new ApiError(400, 'Bad Request: text buttons are unallowed in the inline keyboard');
      if (b.callback_data !== undefined && (typeof b.callback_data !== 'string' || Buffer.byteLength(b.callback_data) < 1 || Buffer.byteLength(b.callback_data) > 64)) {
        throw new ApiError(400, 'Bad Request: BUTTON_DATA_INVALID');
      }
    }
  }
  return markup;
}
