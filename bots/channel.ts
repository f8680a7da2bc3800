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
 * How far earlier attempts got with one reply, and where to record each part the platform
 * accepts, for channels that send a reply as several messages (photos, then the text).
 */
export interface SendProgress {
  /** Parts an earlier attempt already sent: skipped. */
  partsSent: number;
  /**
   * Records that `partsSent` parts are now sent (and the reply's `sentRef`, when this part has
   * it); awaited before the next part goes out. Throws when it cannot be recorded.
   */
  partSent(partsSent: number, sentRef?: string): Promise<void>;
  /**
   * Awaited before each platform call (rate limits are per call, not per reply); throws to stop
   * the reply here without sending (the delivery job then retries from this part).
   */
  beforePart?(): Promise<void>;
}

/**
 * One platform call of a reply. Resolves to the platform's id of the message that stands for the
 * whole reply (the text, kept as the outbox row's `sentRef`), or undefined for the others.
 */
export type ReplyPart = () => Promise<string | undefined>;

/**
 * The reply's photos as parts, each loaded from `media` and handed to `send` (the platform call);
 * none when this process has no media source.
 */
export function photoParts(reply: Reply, media: MediaSource | undefined, send: (bytes: Buffer, photo: NonNullable<Reply['media']>[number]) => Promise<unknown>): ReplyPart[] {
  if (!media) return [];
  return (reply.media ?? []).map((photo) => async () => {
    const { bytes } = await media.load(photo.fileRef);
    await send(bytes, photo);
    return undefined;
  });
}

/**
 * Sends a reply's parts in order, skipping those `progress` says were sent, and records each one
 * the platform accepted except the last (the caller records that by marking the row sent), so a
 * retry after a failure part-way resends nothing. `failure` maps a part's error to a SendResult;
 * a failure to record progress is thrown, never mistaken for a platform error.
 */
export async function sendParts(parts: ReplyPart[], progress: SendProgress | undefined, failure: (err: unknown) => SendResult): Promise<SendResult> {
  let sentRef: string | undefined;
  for (let i = progress?.partsSent ?? 0; i < parts.length; i++) {
    let ref: string | undefined;
    await progress?.beforePart?.();
    try {
      ref = await parts[i]!();
    } catch (err) {
      return failure(err);
    }
    sentRef = ref ?? sentRef;
    if (progress && i < parts.length - 1) await progress.partSent(i + 1, ref);
  }
  return { ok: true, sentRef };
}

/**
 * The small interface every channel implements (like grammY's platform.*.ts files: the only
 * code that knows the platform). `onInbound` is given by the app and must be awaited: it returns
 * once the event is stored (or refused), so adapters can ack the platform afterwards.
 */
export interface ChannelAdapter {
  readonly channel: Channel;
  start(onInbound: (event: InboundEvent) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
  /**
   * Sends one reply. A channel that needs several platform calls for it sends them with
   * `sendParts`, resuming after `progress.partsSent`.
   */
  send(chatRef: string, reply: Reply, progress?: SendProgress): Promise<SendResult>;
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
