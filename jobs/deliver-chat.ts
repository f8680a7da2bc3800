import { and, eq, sql } from 'drizzle-orm';
import { channelIdentities, outbox } from '../db/schema/index.js';
import type { Database } from '../db/client.js';
import type { ChannelAdapter } from '../bots/channel.js';
import type { Channel } from '../src/dialog/events.js';
import { replySchema, type Choice } from '../src/dialog/reply.js';
import type { OutboxRow } from '../src/outbox/claim.js';
import { OUTBOX_PRIORITY } from '../src/outbox/outbox.js';
import { recordChoicesShown, replyToSend } from '../src/outbox/shown.js';
import type { CallLimits } from '../src/limits/calls.js';

/** A call limit said no (ours, shared by every process). `global`: the whole channel must wait. */
/**
 * A job the global limit puts back wakes a little before the next window opens: being promoted,
 * fetched and opening its transaction take tens of ms, and a window that no job is ready for
 * when it opens is lost (one second of 30 calls every ~1.08 s: 27.6/s of Telegram's 30/s).
 * One that arrives early is refused again for the few ms left, and then wakes on time.
 */
const WAKE_EARLY_MS = 80;
export const wakeBeforeWindow = (ms: number) => (ms > 2 * WAKE_EARLY_MS ? ms - WAKE_EARLY_MS : ms);

export class Throttled extends Error {
  constructor(
    readonly ms: number,
    readonly global: boolean,
  ) {
    super(`throttled for ${ms} ms`);
  }
}

/**
 * Why a batch stopped sending before it was through: the channel must wait (`retry`: the
 * platform's 429, otherwise our own global limit). Chats of the batch not yet begun are left.
 */
export type Halt = { ms: number; retry: boolean };

export interface ChatSendContext {
  database: Database;
  adapter: ChannelAdapter;
  channel: Channel;
  limits?: CallLimits;
  /** Marks a row sent once the platform accepted it, with the choices it showed; resolves when that is committed. */
  markSent(id: number, sentRef?: string, shown?: readonly Choice[]): Promise<void>;
  onResult?: (channel: Channel, result: 'sent' | 'blocked' | 'failed' | 'retry_after') => void;
  /** Shared by the batch's chats: set by the first that must stop the channel. */
  halt: { current?: Halt };
  retry: <T>(write: () => Promise<T>) => Promise<T>;
}

export interface ChatOutcome {
  sent: number;
  /** Every row was dealt with (sent, failed for now, or the chat is blocked). */
  done: boolean;
  /** When not done because of this chat's own limit: how long until it may go. */
  waitMs?: number;
  /** The first failure of a row, which stays pending for the job's retry. */
  failure?: string;
}

/**
 * Sends one chat's rows in id order, so its messages keep their order, each marked sent right
 * after the platform accepted it (a later failure can't un-mark it and cause a resend), as is
 * each part of a row sent as several messages (`parts_sent`: a retry after a 429 on the text does
 * not send its photos again). `own` rows record failures (attempts, the last one failed); a
 * companion's failure is left untouched for its own job, which records and retries it.
 */
export async function sendChatRows(ctx: ChatSendContext, rows: OutboxRow[], own: { lastAttempt: boolean } | undefined): Promise<ChatOutcome> {
  const { database, adapter, channel, limits, halt } = ctx;
  let sent = 0;
  let failure: string | undefined;
  for (const message of rows) {
    if (halt.current) return { sent, done: false, failure };
    let result;
    let recorded;
    try {
      const toSend = await replyToSend(database.db, message, replySchema.parse(message.payload));
      recorded = toSend.recorded;
      // A reply's or card's choices (an offer's 确认) are recorded just before it goes, as a
      // broadcast's appended ones are: the person may answer the moment it arrives, and a bare
      // "1" sent before the mark's write would answer the choices shown before it (the menu).
      // Broadcasts' plain choices stay with the wave's mark (one write per wave at the limit).
      if (!recorded && toSend.reply.choices?.length && message.priority === OUTBOX_PRIORITY.conversation) {
        await ctx.retry(() => recordChoicesShown(database.db, { id: message.id, choices: toSend.reply.choices }));
        recorded = true;
      }
      result = await adapter.send(message.chatRef, toSend.reply, {
        partsSent: message.partsSent,
        beforePart: limits
          ? async () => {
              const permit = await limits.take(channel, message.chatRef);
              if (!permit.ok) throw new Throttled(permit.scope === 'global' ? wakeBeforeWindow(permit.waitMs) : permit.waitMs, permit.scope === 'global');
            }
          : undefined,
        // A part the platform accepted (a photo before the text): the retry resumes after it.
        partSent: async (partsSent, sentRef) => {
          await ctx.retry(() =>
            database.db
              .update(outbox)
              .set({ partsSent, ...(sentRef !== undefined && { sentRef }) })
              .where(eq(outbox.id, message.id)),
          );
        },
      });
      if (result.ok) {
        // The platform has it now: failing to record that would resend it on the job's retry.
        // Its choices are now what a bare number answers in this chat (src/outbox/shown.ts),
        // recorded with the mark unless they were recorded before the send (above).
        const choices = toSend.reply.choices;
        await ctx.markSent(message.id, result.sentRef, choices?.length && !recorded ? choices : undefined);
        adapter.delivered?.(message.chatRef);
        ctx.onResult?.(channel, 'sent');
        sent++;
        continue;
      }
    } catch (err) {
      if (!(err instanceof Throttled)) throw err;
      if (err.global) halt.current ??= { ms: err.ms, retry: false };
      return { sent, done: false, waitMs: err.ms, failure };
    }
    if ('retryAfterMs' in result) {
      ctx.onResult?.(channel, 'retry_after');
      // The platform said when this chat may be written to again: a broadcast row (the only kind
      // a batch takes along) says so too, so no batch in any process takes it, nor a later row of
      // its chat, before then. A reply's retry is its own job's, delayed as long.
      const ms = result.retryAfterMs;
      if (message.priority !== OUTBOX_PRIORITY.conversation) await ctx.retry(() =>
        database.db
          .update(outbox)
          .set({ notBefore: sql`greatest(coalesce(${outbox.notBefore}, now()), now() + ${ms} * interval '1 millisecond')` })
          .where(eq(outbox.id, message.id)),
      );
      halt.current ??= { ms, retry: true };
      return { sent, done: false, waitMs: ms, failure };
    }
    if ('blocked' in result) {
      // 用户已屏蔽: mark, and stop sending to this chat until they write again.
      await database.db.update(channelIdentities).set({ blockedAt: new Date() }).where(eq(channelIdentities.id, message.identityId));
      await database.db
        .update(outbox)
        .set({ status: 'blocked', lastError: result.reason })
        .where(and(eq(outbox.identityId, message.identityId), eq(outbox.status, 'pending')));
      ctx.onResult?.(channel, 'blocked');
      return { sent, done: true, failure };
    }
    const error = 'error' in result ? result.error : result.reason;
    if (!own) return { sent, done: false, failure: error };
    await database.db
      .update(outbox)
      .set({ attempts: sql`${outbox.attempts} + 1`, lastError: error.slice(0, 500), status: own.lastAttempt ? 'failed' : 'pending' })
      .where(eq(outbox.id, message.id));
    if (own.lastAttempt) ctx.onResult?.(channel, 'failed');
    // One row's failure must not hold back the rows behind it: they go now, this one is
    // retried with the job's backoff.
    failure ??= error;
  }
  return { sent, done: true, failure };
}
