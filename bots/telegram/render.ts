import type { Reply } from '../../src/dialog/reply.js';

export interface InlineButton {
  text: string;
  callback_data: string;
}

/** Choices as an inline keyboard: short labels two to a row, long ones alone (readable on a phone). */
export function inlineKeyboard(reply: Reply): InlineButton[][] | undefined {
  if (!reply.choices?.length) return undefined;
  const rows: InlineButton[][] = [];
  let row: InlineButton[] = [];
  for (const c of reply.choices) {
    const button = { text: c.label, callback_data: c.id };
    const short = [...c.label].length <= 12;
    if (short && row.length === 1 && [...row[0]!.text].length <= 12) {
      row.push(button);
      rows.push(row);
      row = [];
    } else {
      if (row.length) rows.push(row);
      row = short ? [button] : [];
      if (!short) rows.push([button]);
    }
  }
  if (row.length) rows.push(row);
  return rows;
}
