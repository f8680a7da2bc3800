import { z } from 'zod';
import { LOCALES } from '../config.js';

/**
 * What the core says to a person, independent of the channel. Channels render `choices` as
 * buttons where they have them (Telegram inline keyboard, web buttons) and as numbered lines
 * ("回复 1 …") where they have not (WeChat).
 */
export const choiceSchema = z.object({
  /** Stable id sent back as an InboundEvent `choice`; ≤ 64 bytes to fit Telegram callback data. */
  id: z
    .string()
    .min(1)
    .refine((id) => Buffer.byteLength(id, 'utf8') <= 64, 'at most 64 bytes (Telegram callback data)'),
  label: z.string().min(1).max(100),
});

/** Choices one reply may offer: what a chat can answer by number at most. */
export const MAX_CHOICES = 20;

export const replySchema = z.object({
  /** The recipient's language, so a channel can add its own hints ("回复数字选择") in it. */
  locale: z.enum(LOCALES),
  text: z.string().min(1).max(4000),
  choices: z.array(choiceSchema).max(MAX_CHOICES).optional(),
  /** Ask the channel for the person's location where it can (Telegram request_location, browser geolocation). */
  requestLocation: z.boolean().optional(),
  media: z
    .array(z.object({ kind: z.literal('photo'), fileRef: z.string().min(1), caption: z.string().max(1000).optional() }))
    .max(10)
    .optional(),
  /**
   * A broadcast's choices on a channel that answers them by number (WeChat): when it is
   * delivered they are numbered on after the choices the chat has now (src/outbox/shown.ts), so
   * they never take a number the menu or a flow is using. `plainText` goes instead, without
   * choices, where the chat has no room left for them.
   */
  appendChoices: z.object({ plainText: z.string().min(1).max(4000) }).strict().optional(),
  /** The number of the first choice: 1, or where appended choices start (set at delivery). */
  numberFrom: z.number().int().min(1).max(MAX_CHOICES).optional(),
});

export type Choice = z.infer<typeof choiceSchema>;
export type Reply = z.infer<typeof replySchema>;
