import type { Channel, InboundEvent } from '../src/dialog/events.js';
import { messages } from '../src/i18n/index.js';
import type { Reply } from '../src/dialog/reply.js';
import type { HandleResult } from '../src/dialog/engine.js';

/** The outcome of one send, in terms the delivery job can act on. */
export type SendResult =
  | { ok: true; sentRef?: string }
  /** The platform asked us to slow down (Telegram 429 retry_after). */
  | { ok: false; retryAfterMs: number }
  /** The person blocked the bot or the chat is gone: mark, don't retry. */
  | { ok: false; blocked: true; reason: string }
  /** Anything else; retried with backoff by the job. */
  | { ok: false; error: string }
  /**
   * The platform will never take this part (Telegram's PHOTO_INVALID_DIMENSIONS): a photo is
   * skipped with a note in the text; for the text itself it counts as an error.
   */
  | { ok: false; partRefused: true; reason: string };

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
export type ReplyPart = (skippedPhotos: number) => Promise<string | undefined>;

/** The reply's text, with a note when some of its photos could not be delivered. */
export function textWithSkipNote(reply: Reply, skippedPhotos: number): string {
  if (!skippedPhotos) return reply.text;
  const note = messages(reply.locale).common.photosSkipped({ n: skippedPhotos });
  return `${reply.text.slice(0, 4000 - note.length - 2)}\n\n${note}`;
}

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
  let skipped = 0;
  for (let i = progress?.partsSent ?? 0; i < parts.length; i++) {
    let ref: string | undefined;
    await progress?.beforePart?.();
    try {
      ref = await parts[i]!(skipped);
    } catch (err) {
      const result = failure(err);
      if (!('partRefused' in result) || i === parts.length - 1) return 'partRefused' in result ? { ok: false, error: result.reason } : result;
      // Refused for good: sending it again would fail again, and hold back the text and every
      // message behind it. The text says a photo is missing.
      skipped++;
      if (progress) await progress.partSent(i + 1);
      continue;
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
  start(onInbound: (event: InboundEvent) => Promise<HandleResult | void>): Promise<void>;
  stop(): Promise<void>;
  /**
   * Sends one reply. A channel that needs several platform calls for it sends them with
   * `sendParts`, resuming after `progress.partsSent`.
   */
  send(chatRef: string, reply: Reply, progress?: SendProgress): Promise<SendResult>;
  /**
   * Called once a reply `send` accepted is recorded as sent (committed). The web chat, whose
   * browsers read sent rows, wakes their long polls here (src/outbox/wake.ts).
   */
  delivered?(chatRef: string): void;
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
