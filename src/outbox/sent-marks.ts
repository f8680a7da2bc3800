import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import type { Choice } from '../dialog/reply.js';
import { choicesShownCtes } from './shown.js';

/**
 * Marks outbox rows sent the moment the platform accepted them, many in one statement: a row
 * accepted while a marking write is in flight joins the next one (group commit), so a batch of
 * chats sent side by side costs one write per wave instead of one per message, and a lone send
 * is marked at once. `mark` resolves once the row's write committed (the caller sends nothing
 * more to that chat before), and rejects when `write` gave up. A row's choices (`shown`: what a bare number now answers in its chat, src/outbox/shown.ts) are
 * recorded in the same statement, the moment it is marked: one statement per wave, not two per
 * message (bench (b): that write per message was a fifth of the worker's socket writes).
 */
export function createSentMarker(write: <T>(run: () => Promise<T>) => Promise<T>, db: Queryable) {
  let queued: { id: number; sentRef?: string; shown?: readonly Choice[]; done: () => void; fail: (e: unknown) => void }[] = [];
  let flushing = false;

  async function flush() {
    flushing = true;
    while (queued.length) {
      const wave = queued;
      queued = [];
      const rows = JSON.stringify(wave.map((w) => ({ id: w.id, sent_ref: w.sentRef ?? null, ...(w.shown && { choices: w.shown }) })));
      try {
        await write(() =>
          db.execute(sql`
            with m as (select * from jsonb_to_recordset(${rows}::jsonb) as m (id bigint, sent_ref text, choices jsonb)),
            marked as (
              update outbox o set status = 'sent', sent_at = now(), attempts = o.attempts + 1,
                sent_ref = coalesce(m.sent_ref, o.sent_ref)
              from m where o.id = m.id),
            ${choicesShownCtes(sql`select * from m where m.choices is not null`)}
            select 1`),
        );
        for (const w of wave) w.done();
      } catch (err) {
        for (const w of wave) w.fail(err);
      }
    }
    flushing = false;
  }

  return {
    mark(id: number, sentRef?: string, shown?: readonly Choice[]): Promise<void> {
      return new Promise<void>((done, fail) => {
        queued.push({ id, sentRef, shown, done, fail });
        if (!flushing) void flush();
      });
    },
  };
}
