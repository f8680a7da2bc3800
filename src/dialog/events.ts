import { z } from 'zod';

export const CHANNELS = ['telegram', 'wechat', 'web'] as const;
export const channelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof channelSchema>;

/** Longest platform reference we accept (Telegram ids, WeChat ids, web session ids all fit). */
const ref = z.string().min(1).max(200);

export const locationSchema = z.object({
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  /** Free-text label where the platform gives one (WeChat location messages, map pins). */
  label: z.string().max(300).optional(),
});

export const photoSchema = z.object({
  /** Where the adapter can fetch the bytes from: a platform file id or a stored file key. */
  fileRef: z.string().min(1).max(500),
  mimeType: z.string().max(100).optional(),
});

const payload = z.discriminatedUnion('kind', [
  /** Free text. Adapters pass it as-is; the engine checks length and binary content. */
  z.object({ kind: z.literal('text'), text: z.string() }),
  /** A button press (Telegram callback data, web button): the choice id the Reply offered. */
  z.object({ kind: z.literal('choice'), choice: z.string().min(1).max(64) }),
  z.object({ kind: z.literal('location'), location: locationSchema }),
  z.object({ kind: z.literal('photo'), photo: photoSchema, caption: z.string().optional() }),
  /** Anything else a platform can send (stickers, voice, files): answered, never silently dropped. */
  z.object({ kind: z.literal('unsupported'), what: z.string().max(50) }),
]);

/**
 * What every channel adapter turns a platform update into. The core never sees grammY or wechaty
 * types, only this.
 */
export const inboundEventSchema = z.intersection(
  z.object({
    channel: channelSchema,
    /** Platform user id. */
    userRef: ref,
    /** Where replies go. */
    chatRef: ref,
    /** Platform message/update id: (channel, messageRef) is the duplicate key. */
    messageRef: ref,
    /** The platform's language hint (Telegram language_code), used for the first greeting only. */
    languageHint: z.string().max(20).optional(),
    /**
     * An opaque key for the network client where the channel knows one (web chat: a keyed hash
     * of the address), so limits hold across new sessions. Never stored with the person.
     */
    clientKey: z.string().min(1).max(100).optional(),
  }),
  payload,
);

export type InboundEvent = z.infer<typeof inboundEventSchema>;
export type InboundPayload = z.infer<typeof payload>;
export type GeoLocation = z.infer<typeof locationSchema>;
export type PhotoRef = z.infer<typeof photoSchema>;
