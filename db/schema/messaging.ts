import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { channelIdentities, channelKind } from './people.js';

/**
 * Every inbound message we processed, by the platform's own id. The primary key is what makes a
 * Telegram update or WeChat message delivered twice harmless.
 */
export const inboundMessages = pgTable(
  'inbound_messages',
  {
    channel: channelKind('channel').notNull(),
    messageRef: text('message_ref').notNull(),
    identityId: uuid('identity_id'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.messageRef] })],
);

/** Where a person is in a conversation. Survives restarts because it lives here, not in memory. */
export const dialogStates = pgTable('dialog_states', {
  identityId: uuid('identity_id')
    .primaryKey()
    .references(() => channelIdentities.id, { onDelete: 'cascade' }),
  flow: text('flow').notNull(),
  step: text('step').notNull(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  /** The choices last shown, so "回复 1" on a channel without buttons maps to the right one. */
  choices: jsonb('choices').$type<{ id: string; label: string }[]>().notNull().default([]),
  /** When the person's last turn saved this state (delivery, recording choices shown, leaves it alone). */
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * 发件箱: each message to a person is written here in the same transaction as the change that
 * causes it, then delivered by a `deliver` job whose id is the outbox id.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    identityId: uuid('identity_id')
      .notNull()
      .references(() => channelIdentities.id, { onDelete: 'cascade' }),
    channel: channelKind('channel').notNull(),
    chatRef: text('chat_ref').notNull(),
    /** A rendered-agnostic Reply (see src/dialog/reply.ts). */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'sent', 'failed', 'blocked'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /**
     * Parts of the reply the platform already accepted while the row is pending (photos go out
     * before the text), so a retry resumes after them instead of sending them again.
     */
    partsSent: integer('parts_sent').notNull().default(0),
    lastError: text('last_error'),
    /** Platform id of the sent message, where the platform gives one. */
    sentRef: text('sent_ref'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    /**
     * Delivery class, lower goes first (src/outbox/outbox.ts OUTBOX_PRIORITY): 0 应急 emergency,
     * 1 conversation replies and case cards, 2 broadcasts.
     */
    priority: smallint('priority').notNull().default(1),
    /** Not delivered before this time (quiet hours, a scheduled notice); null = at once. */
    notBefore: timestamp('not_before', { withTimezone: true }),
    /** Makes a retried fan-out page write nothing twice, e.g. `notice:<id>:<person>:<channel>`. */
    dedupeKey: text('dedupe_key'),
    /**
     * Order in which rows became sent, stamped by a trigger when `status` turns 'sent' (see the
     * web_sent_seq migration). The web chat reads a chat's replies after this cursor, not after
     * the row id: a broadcast row that waited behind later replies is sent after them.
     */
    sentSeq: bigint('sent_seq', { mode: 'number' }),
  },
  (t) => [
    /** Rows with a key only (migration 0033): ON CONFLICT names the predicate (ON_DEDUPE_CONFLICT). */
    uniqueIndex('outbox_dedupe_key')
      .on(t.dedupeKey)
      .where(sql`${t.dedupeKey} is not null`),
    index('outbox_pending_idx')
      .on(t.identityId, t.id)
      .where(sql`${t.status} = 'pending'`),
    index('outbox_identity_idx').on(t.identityId, t.id),
    /** Pending rows of a channel and class in id order: what a broadcast batch takes along (src/outbox/claim.ts). */
    index('outbox_pending_class_idx')
      .on(t.channel, t.priority, t.id)
      .where(sql`${t.status} = 'pending'`),
    index('outbox_web_sent_idx')
      .on(t.chatRef, t.sentSeq)
      .where(sql`${t.channel} = 'web' and ${t.sentSeq} is not null`),
  ],
);
