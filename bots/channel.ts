import type { Channel, InboundEvent } from '../src/dialog/events.js';
import type { Reply } from '../src/dialog/reply.js';

/** The outcome of one send, in terms the delivery job can act on. */
export type SendResult =
  | { ok: true; sentRef?: string }
  /** The platform asked us to slow down (Telegram 429 retry_after). */
  | { ok: false; retryAfterMs: number }
  /** The person blocked the bot or the chat is gone: mark, don't retry. */
  | { ok: false; blocked: true; reason: string }
  /** Anything else; retried with backoff by the job. */
  | { ok: false; error: string };

/**
 * The small interface every channel implements (like grammY's platform.*.ts files: the only
 * code that knows the platform). `onInbound` is given by the app and must be awaited: it returns
 * once the event is stored (or refused), so adapters can ack the platform afterwards.
 */
export interface ChannelAdapter {
  readonly channel: Channel;
  start(onInbound: (event: InboundEvent) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
  send(chatRef: string, reply: Reply): Promise<SendResult>;
  /** Downloads the bytes behind an inbound photo's `fileRef` (for the case photo store). */
  fetchMedia(fileRef: string): Promise<MediaBytes>;
}

export interface MediaBytes {
  bytes: Buffer;
  mimeType: string;
}

/**
 * Where adapters read the bytes of outgoing `Reply.media` (keys of our own photo store), so a
 * channel can upload them; given to every adapter factory by the app.
 */
export interface MediaSource {
  load(fileRef: string): Promise<MediaBytes>;
}
