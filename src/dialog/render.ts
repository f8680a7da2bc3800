import { messages } from '../i18n/index.js';
import type { Reply } from './reply.js';

/**
 * A Reply as plain text for channels without buttons (WeChat): the choices become numbered
 * lines and a hint; the engine maps a bare number back to the choice shown.
 */
export function renderNumbered(reply: Reply): string {
  if (!reply.choices?.length) return reply.text;
  const lines = reply.choices.map((c, i) => `${i + (reply.numberFrom ?? 1)}. ${c.label}`);
  return `${reply.text}\n\n${lines.join('\n')}\n（${messages(reply.locale).common.numberedHint}）`;
}
