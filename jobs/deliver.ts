import { DelayedError, type Job } from 'bullmq';
import { and, asc, eq, isNull, lte, or, sql } from 'drizzle-orm';
import { outbox } from '../db/schema/index.js';
import type { Database, Tx } from '../db/client.js';
import type { ChannelAdapter } from '../bots/channel.js';
import type { Channel } from '../src/dialog/events.js';
import { deliverLockKey, OUTBOX_PRIORITY, toQueued, type DeliveryQueue, type QueuedMessage } from '../src/outbox/outbox.js';
import { claimCompanions, type OutboxRow } from '../src/outbox/claim.js';
import { createSentMarker } from '../src/outbox/sent-marks.js';
import { createSlots } from '../src/work/slots.js';
import type { CallLimits } from '../src/limits/calls.js';
import type { Logger } from '../src/log.js';
import { z } from 'zod';
import { channelSchema } from '../src/dialog/events.js';
import { sendChatRows, type ChatOutcome, type ChatSendContext, type Halt } from './deliver-chat.js';
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
      companions: deliveryCompanions(s.config),
      delivery: s.delivery,
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
  /**
   * Other chats' broadcast rows one broadcast job takes along, per channel (none when absent):
   * one job per message is plenty at a few dozen a second, not at a thousand.
   */
  companions?: Partial<Record<Channel, number>>;
  /** Most platform sends one batch has in flight at once (default 16). */
  sendsAtOnce?: number;
  /**
   * Where a batch queues deliveries of its own for what it leaves behind: companions it could not
   * send now (a limit, a failure) and the next lead (`leadsOf`, jobs/producer.ts). Without it
   * (tests of the processor alone) every row is expected to have its job.
   */
  delivery?: DeliveryQueue;
}

/**
 * Companions per channel from its global rate: a batch of about a tenth of a second's budget
 * (at most 32 chats), so at 1,000/s a job takes 31 others along. Below 100/s none: one job per
 * message keeps up with such a rate (bench (a): 1.00 of Telegram's 30/s), and a batch would only
 * bunch the sends at the start of the limiter's window.
 */
export function companionsFor(rates: Record<Channel, { globalPerSec: number }>): Record<Channel, number> {
  const of = (perSec: number) => (perSec < 100 ? 0 : Math.min(31, Math.floor(perSec / 10) - 1));
  return { telegram: of(rates.telegram.globalPerSec), wechat: of(rates.wechat.globalPerSec), web: of(rates.web.globalPerSec) };
}

/**
 * The companions of a deployment's channels. The producer (one job per batch's worth of broadcast
 * rows, `leadsOf`) and the deliver processor (which takes that many along) must agree, so both
 * read it here.
 */
export const deliveryCompanions = (config: JobServices['config']) => companionsFor(channelRates(config));

type Own = { id: number; identityId: string; channel: Channel; priority: number };

/** A broadcast whose chat another delivery holds comes back after this long (it is likely sent by then). */
const BUSY_CHAT_RETRY_MS = 500;

/**
 * The deliver processor. It locks the recipient (an advisory lock held by a transaction for the
 * whole batch), then sends every pending row of that recipient up to its own id, in id order, so
 * one chat's messages keep their order and no row is sent by two jobs (jobs/deliver-chat.ts).
 * A broadcast job also takes along the next broadcast row of up to `companions` other chats
 * (src/outbox/claim.ts), sent side by side, at most `sendsAtOnce` at a time, and marked sent
 * together (src/outbox/sent-marks.ts). Most of those rows have no job of their own (one job per
 * batch's worth, `leadsOf` in jobs/producer.ts); one that has finds it sent and, as a lead, sends
 * what waits after it (`sendBatch`). Call limits are taken per platform call as before, so the
 * batch goes no faster than the limits allow.
 */
export function createDeliverProcessor(deps: DeliverDeps) {
  const { database } = deps;
  const slots = createSlots(deps.maxConcurrentBatches ?? Math.max(1, Math.floor((database.sql.options.max ?? 10) / 2)));
  const marker = createSentMarker(persistently, database.db);

  /**
   * The chat's own rows (`batch`, under its lock) and, for a broadcast, the next row of up to
   * `companions` other chats, sent side by side. What the batch leaves behind gets a delivery of
   * its own (`deps.delivery`): companions not sent now (a limit, a failure), which may have no
   * job (`leadsOf`), and, when the claim was full, the next lead, so a broadcast's leads carry on
   * one after another until nothing waits. Deterministic job ids make either a no-op where the
   * row has its job already.
   */
  async function sendBatch(tx: Tx, ctx: ChatSendContext, own: Own, batch: OutboxRow[], takesAlong: boolean, lastAttempt: boolean): Promise<{ sent: number; own: ChatOutcome }> {
    const claim = takesAlong ? await claimCompanions(tx, own, deps.companions![own.channel]!) : { rows: [] };
    const sends = createSlots(deps.sendsAtOnce ?? 16);
    // Every send is waited for (settled, none left unobserved) before the transaction, and
    // with it the chats' locks, ends.
    const settled = await Promise.allSettled([
      batch.length ? sends.run(() => sendChatRows(ctx, batch, { lastAttempt })) : Promise.resolve<ChatOutcome>({ sent: 0, done: true }),
      ...claim.rows.map((c) => sends.run(() => sendChatRows(ctx, [c], undefined))),
    ]);
    const broken = settled.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (broken) throw broken.reason;
    const outcomes = settled.map((o) => (o as PromiseFulfilledResult<ChatOutcome>).value);
    const left: QueuedMessage[] = claim.rows.filter((_, i) => !outcomes[i + 1]!.done).map((r) => toQueued({ id: r.id, channel: r.channel, priority: r.priority, not_before: r.notBefore }));
    if (claim.next !== undefined) left.push(toQueued({ id: claim.next, channel: own.channel, priority: own.priority, not_before: null }));
    // After commit would be later than needed: a job for a row still locked here finds it busy
    // and looks again shortly. Lost (Redis down), the outbox sweep queues it.
    if (left.length && deps.delivery) await deps.delivery.enqueue(left).catch((err) => deps.logger.warn({ err: (err as Error).message }, 'follow-up deliveries not queued; the outbox sweep will'));
    return { sent: outcomes.reduce((n, o) => n + o.sent, 0), own: outcomes[0]! };
  }

  return async (job: Job, token?: string): Promise<{ sent: number }> => {
    const { outboxId, channel } = parsePayload({ name: 'deliver', payload: deliverPayload }, job.data);
    const adapter = deps.adapters.get(channel);
    if (!adapter) throw new Error(`channel ${channel} is not running in this process`);
    const log = deps.logger.child({ jobId: job.id, outboxId, channel });
    const broadcastJob = job.opts.priority !== undefined && job.opts.priority !== DELIVER_JOB_PRIORITY.conversation;
    if (job.opts.priority === DELIVER_JOB_PRIORITY.broadcast && Date.now() - job.timestamp < YIELD.forMs && deps.conversationBusy?.()) {
      await job.moveToDelayed(Date.now() + YIELD.ms, token);
      throw new DelayedError();
    }
    const leads = broadcastJob && (deps.companions?.[channel] ?? 0) > 0;
    // Sent already (taken along by another broadcast's batch): done, without a slot or a
    // transaction, unless it leads (one job per batch's worth of rows): it then sends the rows
    // waiting after it, which may have no job of their own.
    if (broadcastJob) {
      const [row] = await database.db.select({ status: outbox.status }).from(outbox).where(eq(outbox.id, outboxId));
      if (!row || (row.status !== 'pending' && !leads)) return { sent: 0 };
    }
    const halt: { current?: Halt } = {};
    const ctx: ChatSendContext = {
      database,
      adapter,
      channel,
      limits: deps.callLimits,
      markSent: (id, sentRef, shown) => marker.mark(id, sentRef, shown),
      onResult: deps.onResult,
      halt,
      retry: persistently,
    };
    const outcome = await slots.run(() =>
      database.db.transaction(async (tx) => {
        const [row] = await tx
          .select({ identityId: outbox.identityId, status: outbox.status, priority: outbox.priority, notBefore: outbox.notBefore })
          .from(outbox)
          .where(eq(outbox.id, outboxId));
        if (!row) return { kind: 'done' as const, sent: 0 };
        const takesAlong = row.priority !== OUTBOX_PRIORITY.conversation && (deps.companions?.[channel] ?? 0) > 0;
        const own = { id: outboxId, identityId: row.identityId, channel, priority: row.priority };
        if (row.status !== 'pending') {
          if (!takesAlong || !leads) return { kind: 'done' as const, sent: 0 };
          // Its own row went with another batch: this one sends the companions alone.
          return { kind: 'sent' as const, ...(await sendBatch(tx, ctx, own, [], true, false)) };
        }
        // Held back (quiet hours, a scheduled notice): the job sleeps until then.
        if (row.notBefore && row.notBefore.getTime() > Date.now()) return { kind: 'held' as const, at: row.notBefore.getTime() };
        const lockKey = deliverLockKey(row.identityId);
        if (takesAlong) {
          // Another batch has this chat (most likely sending this very row): look again shortly
          // rather than hold a connection waiting for its lock.
          const [got] = await tx.execute<{ got: boolean }>(sql`select pg_try_advisory_xact_lock(hashtext(${lockKey})) as got`);
          if (!got?.got) return { kind: 'busy' as const };
        } else {
          await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${lockKey}))`);
        }
        // This chat's rows up to this one, of this class or a more urgent one: a reply takes an
        // earlier reply along, never a broadcast waiting for its own job (nor a held-back row).
        const batch = await tx
          .select()
          .from(outbox)
          .where(
            and(
              eq(outbox.identityId, row.identityId),
              eq(outbox.status, 'pending'),
              lte(outbox.id, outboxId),
              lte(outbox.priority, row.priority),
              or(isNull(outbox.notBefore), lte(outbox.notBefore, new Date())),
            ),
          )
          .orderBy(asc(outbox.id));
        const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        return { kind: 'sent' as const, ...(await sendBatch(tx, ctx, own, batch, takesAlong, lastAttempt)) };
      }),
    );
    if (outcome.kind === 'done') return { sent: 0 };
    if (outcome.kind === 'held') {
      await job.moveToDelayed(outcome.at, token);
      throw new DelayedError();
    }
    if (outcome.kind === 'busy') {
      await job.moveToDelayed(Date.now() + BUSY_CHAT_RETRY_MS, token);
      throw new DelayedError();
    }
    const { own, sent } = outcome;
    if (!own.done) {
      // Over a call limit, or the platform said "slow down": back later, no attempt spent.
      await job.moveToDelayed(Date.now() + (own.waitMs ?? halt.current?.ms ?? 1000), token);
      throw new DelayedError();
    }
    if (own.failure !== undefined) throw new Error(`send failed: ${own.failure}`);
    if (sent > 1) log.debug({ sent }, 'batch delivered');
    return { sent };
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
