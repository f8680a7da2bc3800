import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgEnum, pgTable, primaryKey, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { audienceGroup } from './audience.js';
import { orgUnits } from './org.js';
import { channelIdentities, channelKind, people } from './people.js';

/** A notice's title and body per language (see `notices.texts`). */
export type NoticeTexts = Partial<Record<'zh-CN' | 'ko' | 'en', { title: string; body: string }>>;

/**
 * 通知公告 categories. The first four are the 居务公开 catalogue (党务 / 居务 / 财务 / 服务) shown
 * on the community's public page; 停水停电, 活动, 应急 (emergency: everyone in scope, at once,
 * ahead of all traffic), 一般.
 */
export const noticeCategory = pgEnum('notice_category', ['party', 'affairs', 'finance', 'service', 'outage', 'activity', 'emergency', 'general']);

/** draft → scheduled → sending → sent, then possibly corrected or withdrawn. */
export const noticeStatus = pgEnum('notice_status', ['draft', 'scheduled', 'sending', 'sent', 'corrected', 'withdrawn']);

/** One row per notice, however many people it reaches (the fan-out writes their messages). */
export const notices = pgTable(
  'notices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => people.id),
    title: text('title').notNull(),
    body: text('body').notNull(),
    /**
     * The title and text in other languages, where the system writes the notice itself (a
     * consultation's announcement and result: each voter reads it in their own language);
     * `title`/`body` are the default language's. Staff notices have none: they write one text.
     */
    texts: jsonb('texts').$type<NoticeTexts>(),
    /** A stored photo key (src/photos/store.ts), optional. */
    photoKey: text('photo_key'),
    category: noticeCategory('category').notNull(),
    /** Empty: everyone in the scopes; else only members of one of these groups. */
    groups: audienceGroup('groups').array().notNull().default(sql`'{}'::audience_group[]`),
    status: noticeStatus('status').notNull().default('draft'),
    /** When to send; null = as soon as it is confirmed. */
    sendAt: timestamp('send_at', { withTimezone: true }),
    /** When it was released to the fan-out (after a schedule and quiet hours). */
    releasedAt: timestamp('released_at', { withTimezone: true }),
    /** The not-before its messages carry: the end of quiet hours it was released in, or releasedAt. */
    deliverFrom: timestamp('deliver_from', { withTimezone: true }),
    /** The fan-out wrote every page of the current wave. */
    fanoutDoneAt: timestamp('fanout_done_at', { withTimezone: true }),
    /** 更正: the latest correction text; `revision` counts them (the wave of its messages). */
    correction: text('correction'),
    revision: smallint('revision').notNull().default(0),
    withdrawnAt: timestamp('withdrawn_at', { withTimezone: true }),
    withdrawReason: text('withdraw_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('notices_status_idx').on(t.status, t.sendAt), index('notices_author_idx').on(t.authorId)],
);

/** The org units a notice addresses (county … building); everyone bound to a household under them. */
export const noticeScopes = pgTable(
  'notice_scopes',
  {
    noticeId: uuid('notice_id')
      .notNull()
      .references(() => notices.id, { onDelete: 'cascade' }),
    orgUnitId: integer('org_unit_id')
      .notNull()
      .references(() => orgUnits.id),
  },
  (t) => [primaryKey({ columns: [t.noticeId, t.orgUnitId] }), index('notice_scopes_unit_idx').on(t.orgUnitId)],
);

/**
 * One row per (notice, wave, chat) the fan-out wrote a message for. The primary key is what
 * makes a retried page write nothing twice; `wave` is 0 for the notice, n for its n-th
 * correction and -1 for the withdrawal, which go to the chats of wave 0.
 */
export const noticeDeliveries = pgTable(
  'notice_deliveries',
  {
    noticeId: uuid('notice_id')
      .notNull()
      .references(() => notices.id, { onDelete: 'cascade' }),
    wave: smallint('wave').notNull(),
    /** No foreign key (migration 0027): erasure and linking delete or move these rows themselves. */
    identityId: uuid('identity_id').notNull(),
    personId: uuid('person_id').notNull(),
    /** The household the person was bound to when it went out (for the 应急 "nobody read it" list). */
    householdId: integer('household_id'),
    channel: channelKind('channel').notNull(),
    outboxId: bigint('outbox_id', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.noticeId, t.wave, t.identityId] }), index('notice_deliveries_person_idx').on(t.personId)],
);

/** 已读回执: a person read a notice (收到 button, numbered reply, or the web page view). */
export const noticeReads = pgTable(
  'notice_reads',
  {
    noticeId: uuid('notice_id')
      .notNull()
      .references(() => notices.id, { onDelete: 'cascade' }),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    via: text('via', { enum: ['button', 'reply', 'web'] }).notNull(),
    readAt: timestamp('read_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.noticeId, t.personId] })],
);
