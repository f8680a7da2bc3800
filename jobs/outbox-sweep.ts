import { and, asc, eq, gt, isNull, lt, lte, or } from 'drizzle-orm';
import { z } from 'zod';
import { outbox } from '../db/schema/index.js';
import type { Database } from '../db/client.js';
import { toQueued, type DeliveryQueue } from '../src/outbox/outbox.js';
import { defineJob } from './define.js';

/** Rows younger than this are still on their way through the normal path (commit → enqueue). */
export const SWEEP_GRACE_MS = 5_000;
const BATCH = 1_000;

/**
 * Re-enqueues outbox rows left pending: Redis was flushed or restarted, or the process died
 * between commit and enqueue. Deterministic job ids make a row whose job still exists a no-op.
 */
export async function sweepOutbox(database: Database, delivery: DeliveryQueue, now = Date.now()): Promise<number> {
  let total = 0;
  let cursor = 0;
  for (;;) {
    const rows = await database.db
      .select({ id: outbox.id, channel: outbox.channel, priority: outbox.priority, not_before: outbox.notBefore })
      .from(outbox)
      .where(
        and(
          eq(outbox.status, 'pending'),
          lt(outbox.createdAt, new Date(now - SWEEP_GRACE_MS)),
          // A row held back (quiet hours, scheduled) is left to its delayed job until it is due.
          or(isNull(outbox.notBefore), lte(outbox.notBefore, new Date(now))),
          gt(outbox.id, cursor),
        ),
      )
      .orderBy(asc(outbox.id))
      .limit(BATCH);
    if (rows.length === 0) return total;
    const messages = rows.map(toQueued);
    await (delivery.revive ? delivery.revive(messages) : delivery.enqueue(messages));
    total += rows.length;
    cursor = rows.at(-1)!.id;
  }
}

export const outboxSweepJob = defineJob({
  name: 'outbox-sweep',
  payload: z.object({}).passthrough(),
  every: (s) => s.sweeps.outbox,
  handler: (s) => async () => ({ requeued: await sweepOutbox(s.database, s.delivery) }),
});
