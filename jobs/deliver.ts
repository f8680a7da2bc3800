import { DelayedError, type Job } from 'bullmq';
import { and, asc, eq, isNull, lte, or, sql } from 'drizzle-orm';
import { channelIdentities, outbox } from '../db/schema/index.js';
import type { Database } from '../db/client.js';
import type { ChannelAdapter } from '../bots/channel.js';
import type { Channel } from '../src/dialog/events.js';
import { replySchema } from '../src/dialog/reply.js';
import { deliverLockKey } from '../src/outbox/outbox.js';
import { recordChoicesShown, replyToSend } from '../src/outbox/shown.js';
import { createSlots } from '../src/work/slots.js';
import type { CallLimits } from '../src/limits/calls.js';
import type { Logger } from '../src/log.js';
import { z } from 'zod';
import { channelSchema } from '../src/dialog/events.js';
import { defineJob, parsePayload, type JobDefinition, type JobServices } from './define.js';

/**
 * BullMQ priority per outbox class (lower runs first; jobs/producer.ts gives it): an 应急 notice,
 * then replies and case cards, then broadcasts.
 */
export const DELIVER_JOB_PRIORITY = { emergency: 1, conversation: 2, broadcast: 3 } as const;

/**
 * How long a broadcast delivery steps aside while the process's conversation traffic is busy, and
 * for how long after it was queued it may: deferred, never starved.
 */
const YIELD = { ms: 250, forMs: 30_000 };

const deliverPayload = z.object({ outboxId: z.number().int().positive(), channel: channelSchema });
export type DeliverJob = z.infer<typeof deliverPayload>;

/** Messages per second per channel from the config (the platforms' published limits). */
export function channelRates(config: JobServices['config']): Record<Channel, { globalPerSec: number; perChatPerSec?: number }> {
  return {
    telegram: config.telegram?.rate ?? { globalPerSec: 30, perChatPerSec: 1 },
    wechat: config.wechat?.rate ?? { globalPerSec: 5, perChatPerSec: 1 },
    web: { globalPerSec: config.web.rate.globalPerSec },
  };
}

function deliverJob(channel: Channel): JobDefinition<DeliverJob> {
  return defineJob({
    name: `deliver-${channel}`,
    payload: deliverPayload,
    /** The job id is the outbox id: a second enqueue of the same row is a no-op. */
    id: (p) => `out-${p.outboxId}`,
    concurrency: 8,
    handler: (s) => {
      const process = processorFor(s);
      return (_payload, handle) => process(handle.job, handle.token);
    },
  });
}

/**
 * One processor per worker process for every channel: its batch semaphore must count every
 * channel's batches against the one pool they share, or three channels' worth of batches each
 * holding a connection and waiting for a second one exhaust it.
 */
const processors = new WeakMap<JobServices, ReturnType<typeof createDeliverProcessor>>();
function processorFor(s: JobServices) {
  let p = processors.get(s);
  if (!p) {
    p = createDeliverProcessor({
      database: s.database,
      adapters: s.adapters,
      logger: s.logger,
      onResult: s.onDeliverResult,
      callLimits: s.callLimits,
      conversationBusy: s.conversationBusy,
    });
    processors.set(s, p);
  }
  return p;
}

/** One deliver job (and queue) per channel, so each has its own limits. */
export const deliverJobFor: Record<Channel, JobDefinition<DeliverJob>> = {
  telegram: deliverJob('telegram'),
  wechat: deliverJob('wechat'),
  web: deliverJob('web'),
};

export interface DeliverDeps {
  database: Database;
  adapters: Map<Channel, ChannelAdapter>;
  logger: Logger;
  onResult?: (channel: Channel, result: 'sent' | 'blocked' | 'failed' | 'retry_after') => void;
  /**
   * Most batches this process runs at once. A batch holds one pooled connection for its
   * transaction and briefly needs a second one (marking rows), so it must stay below the
   * pool size or a burst leaves every connection held by a batch waiting for one more. Defaults to
   * half the pool, leaving the rest for everything else sharing it.
   */
  maxConcurrentBatches?: number;
  /**
   * Per-call limits shared by every process (src/limits/call-limits.ts). When given, each platform
   * call takes a permit first and a refused one puts the job back as a delayed job (nothing sleeps
   * inside the batch's transaction). Without (the web chat's inline delivery, whose "send" is a
   * row update), nothing is limited; workers always have them (jobs/workers.ts).
   */
  callLimits?: CallLimits;
  /**
   * True while conversation traffic in this process is busy: a broadcast job then goes back as a
   * delayed job for a moment (no attempt spent, nothing read), so replies get the CPU and the
   * pool first and broadcasts are deferred under load, never replies.
   */
  conversationBusy?: () => boolean;
}

class Throttled extends Error {
  constructor(readonly ms: number) {
    super(`throttled for ${ms} ms`);
  }
}

class RetryAfter extends Error {
  constructor(readonly ms: number) {
    super(`retry after ${ms} ms`);
  }
}

class HeldUntil extends Error {
  constructor(readonly at: number) {
    super(`held until ${new Date(at).toISOString()}`);
  }
}

/**
 * The deliver processor. It locks the recipient (an advisory lock held by a transaction for the
 * whole batch), then sends every pending row of that recipient up to its own id, in id order, so
 * one chat's messages keep their order and no row is sent by two jobs. Each row is marked sent
 * on its own connection right after the platform accepted it, so a later failure in the batch
 * can't un-mark it and cause a resend; so is each part of a row that goes out as several
 * messages (`parts_sent`), so a retry after a 429 on the text does not send its photos again.
 */
export function createDeliverProcessor(deps: DeliverDeps) {
  const { database } = deps;
  const slots = createSlots(deps.maxConcurrentBatches ?? Math.max(1, Math.floor((database.sql.options.max ?? 10) / 2)));
  return async (job: Job, token?: string): Promise<{ sent: number }> => {
    const { outboxId, channel } = parsePayload({ name: 'deliver', payload: deliverPayload }, job.data);
    const adapter = deps.adapters.get(channel);
    if (!adapter) throw new Error(`channel ${channel} is not running in this process`);
    const log = deps.logger.child({ jobId: job.id, outboxId, channel });
    if (job.opts.priority === DELIVER_JOB_PRIORITY.broadcast && Date.now() - job.timestamp < YIELD.forMs && deps.conversationBusy?.()) {
      await job.moveToDelayed(Date.now() + YIELD.ms, token);
      throw new DelayedError();
    }
    try {
      return await slots.run(() => database.db.transaction(async (tx) => {
        const [row] = await tx
          .select({ identityId: outbox.identityId, status: outbox.status, priority: outbox.priority, notBefore: outbox.notBefore })
          .from(outbox)
          .where(eq(outbox.id, outboxId));
        if (!row || row.status !== 'pending') return { sent: 0 };
        // Held back (quiet hours, a scheduled notice): the job sleeps until then.
        if (row.notBefore && row.notBefore.getTime() > Date.now()) throw new HeldUntil(row.notBefore.getTime());
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${deliverLockKey(row.identityId)}))`);
        // This chat's rows up to this one, of this class or a more urgent one: a reply takes an
        // earlier reply along, never a broadcast waiting for its own job (nor a held-back row).
        const now = new Date();
        const batch = await tx
          .select()
          .from(outbox)
          .where(
            and(
              eq(outbox.identityId, row.identityId),
              eq(outbox.status, 'pending'),
              lte(outbox.id, outboxId),
              lte(outbox.priority, row.priority),
              or(isNull(outbox.notBefore), lte(outbox.notBefore, now)),
            ),
          )
          .orderBy(asc(outbox.id));
        let sent = 0;
        let failure: string | undefined;
        for (const message of batch) {
          const limits = deps.callLimits;
          const { reply, recorded } = await replyToSend(database.db, message, replySchema.parse(message.payload));
          const result = await adapter.send(message.chatRef, reply, {
            partsSent: message.partsSent,
            beforePart: limits
              ? async () => {
                  const permit = await limits.take(channel, message.chatRef);
                  if (!permit.ok) throw new Throttled(permit.waitMs);
                }
              : undefined,
            // A part the platform accepted (a photo before the text): the retry resumes after it.
            partSent: async (partsSent, sentRef) => {
              await persistently(() =>
                database.db
                  .update(outbox)
                  .set({ partsSent, ...(sentRef !== undefined && { sentRef }) })
                  .where(eq(outbox.id, message.id)),
              );
            },
          });
          if (result.ok) {
            // The platform has it now: failing to record that would resend it on the job's retry,
            // so a transient database error (a full pool, a dropped connection) is retried here.
            await persistently(() =>
              database.db
                .update(outbox)
                .set({ status: 'sent', sentAt: new Date(), ...(result.sentRef !== undefined && { sentRef: result.sentRef }), attempts: sql`${outbox.attempts} + 1` })
                .where(eq(outbox.id, message.id)),
            );
            adapter.delivered?.(message.chatRef);
            // Its choices are now what a bare number answers in this chat (src/outbox/shown.ts).
            const shown = reply.choices;
            if (shown?.length && !recorded) await persistently(() => recordChoicesShown(database.db, { id: message.id, identityId: message.identityId, priority: message.priority, choices: shown }));
            deps.onResult?.(channel, 'sent');
            sent++;
            continue;
          }
          if ('retryAfterMs' in result) throw new RetryAfter(result.retryAfterMs);
          if ('blocked' in result) {
            // 用户已屏蔽: mark, and stop sending to this chat until they write again.
            await database.db.update(channelIdentities).set({ blockedAt: new Date() }).where(eq(channelIdentities.id, message.identityId));
            await database.db
              .update(outbox)
              .set({ status: 'blocked', lastError: result.reason })
              .where(and(eq(outbox.identityId, message.identityId), eq(outbox.status, 'pending')));
            deps.onResult?.(channel, 'blocked');
            log.info('recipient blocked the bot; pending messages marked blocked');
            return { sent };
          }
          const error = 'error' in result ? result.error : result.reason;
          const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          await database.db
            .update(outbox)
            .set({ attempts: sql`${outbox.attempts} + 1`, lastError: error.slice(0, 500), status: last ? 'failed' : 'pending' })
            .where(eq(outbox.id, message.id));
          if (last) deps.onResult?.(channel, 'failed');
          // One row's failure must not hold back the rows behind it: they go now, this one is
          // retried with the job's backoff.
          failure ??= error;
        }
        if (failure !== undefined) throw new Error(`send failed: ${failure}`);
        return { sent };
      }));
    } catch (err) {
      if (err instanceof Throttled) {
        // Over a call limit (ours, shared by every process): back later, no attempt spent.
        await job.moveToDelayed(Date.now() + err.ms, token);
        throw new DelayedError();
      }
      if (err instanceof HeldUntil) {
        await job.moveToDelayed(err.at, token);
        throw new DelayedError();
      }
      if (err instanceof RetryAfter) {
        // The platform said "slow down": wait as told, without spending an attempt.
        deps.onResult?.(channel, 'retry_after');
        await job.moveToDelayed(Date.now() + err.ms, token);
        throw new DelayedError();
      }
      throw err;
    }
  };
}

/** Retries a database write a few times with backoff (about 6 s in all) before giving up. */
async function persistently<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}
