import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';

/**
 * Marks outbox rows sent the moment the platform accepted them, many in one statement: a row
 * accepted while a marking write is in flight joins the next one (group commit), so a batch of
 * chats sent side by side costs one write per wave instead of one per message, and a lone send
 * is marked at once. `mark` resolves once the row's write committed (the caller sends nothing
 * more to that chat before), and rejects when `write` gave up.
 */
export function createSentMarker(write: <T>(run: () => Promise<T>) => Promise<T>, db: Queryable) {
  let queued: { id: number; sentRef?: string; done: () => void; fail: (e: unknown) => void }[] = [];
  let flushing = false;

  async function flush() {
    flushing = true;
    while (queued.length) {
      const wave = queued;
      queued = [];
      const rows = JSON.stringify(wave.map((w) => ({ id: w.id, sent_ref: w.sentRef ?? null })));
      try {
        await write(() =>
          db.execute(sql`
            update outbox o set status = 'sent', sent_at = now(), attempts = o.attempts + 1,
              sent_ref = coalesce(m.sent_ref, o.sent_ref)
            from jsonb_to_recordset(${rows}::jsonb) as m(id bigint, sent_ref text)
            where o.id = m.id`),
        );
        for (const w of wave) w.done();
      } catch (err) {
        for (const w of wave) w.fail(err);
      }
    }
    flushing = false;
  }

  return {
    mark(id: number, sentRef?: string): Promise<void> {
      return new Promise<void>((done, fail) => {
        queued.push({ id, sentRef, done, fail });
        if (!flushing) void flush();
      });
    },
  };
}
