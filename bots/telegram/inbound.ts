import type { Update } from 'grammy/types';
import type { InboundEvent } from '../../src/dialog/events.js';

/**
 * A Telegram update → InboundEvent, or undefined for updates we don't serve (groups, edits,
 * channel posts). `u<update_id>` is the duplicate key: a redelivered update maps to the same ref.
 */
export function toInboundEvent(update: Update): InboundEvent | undefined {
  const base = (from: { id: number; language_code?: string }, chatId: number) => ({
    channel: 'telegram' as const,
    userRef: String(from.id),
    chatRef: String(chatId),
    messageRef: `u${update.update_id}`,
    languageHint: from.language_code,
  });
  if (update.callback_query) {
    const q = update.callback_query;
    const chat = q.message?.chat;
    if (!chat || chat.type !== 'private' || !q.data) return undefined;
    return { ...base(q.from, chat.id), kind: 'choice', choice: q.data.slice(0, 64) };
  }
  const m = update.message;
  if (!m || !m.from || m.chat.type !== 'private') return undefined;
  const b = base(m.from, m.chat.id);
  if (typeof m.text === 'string') return { ...b, kind: 'text', text: m.text };
  if (m.location) return { ...b, kind: 'location', location: { lat: m.location.latitude, lng: m.location.longitude } };
  if (m.photo?.length) {
    const largest = m.photo.at(-1)!;
    return { ...b, kind: 'photo', photo: { fileRef: `tg:${largest.file_id}`, mimeType: 'image/jpeg' }, caption: m.caption };
  }
  const what = m.sticker ? 'sticker' : m.voice ? 'voice' : m.video ? 'video' : m.document ? 'document' : m.contact ? 'contact' : 'message';
  return { ...b, kind: 'unsupported', what };
}
