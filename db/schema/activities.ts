import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgEnum, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { audienceGroup } from './audience.js';
import { notices } from './notices.js';
import { orgUnits } from './org.js';
import { people } from './people.js';

/** 幸福学堂 kinds: 社区大讲堂, 四点半课堂, 文体活动, 服务进社区, other. */
export const activityKind = pgEnum('activity_kind', ['lecture', 'after_school', 'culture_sports', 'service', 'other']);

/**
 * 服务进社区 service lines; each holds ≥ 2 events a year in every community:
 * 法律, 卫生健康, 体育, 文化, 旅游, 应急, 安全, 就业, 社保医保.
 */
export const serviceLine = pgEnum('service_line', ['law', 'health', 'sport', 'culture', 'tourism', 'emergency', 'safety', 'jobs', 'insurance']);

/** A sign-up: has a seat (confirmed), queues (waiting), holds an offered seat until it expires, or gave it up. */
export const signupStatus = pgEnum('signup_status', ['confirmed', 'waiting', 'offered', 'cancelled']);

/** One activity, or one series (a session per date, e.g. every Wednesday 16:30 for a term). */
export const activities = pgTable(
  'activities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: activityKind('kind').notNull(),
    /** Only for 服务进社区. */
    serviceLine: serviceLine('service_line'),
    title: text('title').notNull(),
    /** 国学, 核心价值观, 法律常识, 养生保健, 就业技能 … */
    topic: text('topic'),
    speaker: text('speaker'),
    venue: text('venue'),
    /** An online lecture's link (venue or link, or both). */
    link: text('link'),
    /** The community it counts for (服务进社区 coverage). */
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    groups: audienceGroup('groups').array().notNull().default(sql`'{}'::audience_group[]`),
    signupOpensAt: timestamp('signup_opens_at', { withTimezone: true }).notNull(),
    signupClosesAt: timestamp('signup_closes_at', { withTimezone: true }).notNull(),
    /** How long a freed seat is held for the next waiting person (pretix-style). */
    offerMinutes: integer('offer_minutes').notNull().default(120),
    /** 四点半课堂: end of term, when the children's data is deleted. */
    termEndsAt: timestamp('term_ends_at', { withTimezone: true }),
    minorDataPurgedAt: timestamp('minor_data_purged_at', { withTimezone: true }),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => people.id),
    /** The announcement (通知公告) of this activity. */
    noticeId: uuid('notice_id').references(() => notices.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('activities_community_idx').on(t.communityId, t.kind)],
);

/** The org units an activity is for (its audience; residents under them may sign up). */
export const activityScopes = pgTable(
  'activity_scopes',
  {
    activityId: uuid('activity_id')
      .notNull()
      .references(() => activities.id, { onDelete: 'cascade' }),
    orgUnitId: integer('org_unit_id')
      .notNull()
      .references(() => orgUnits.id),
  },
  (t) => [primaryKey({ columns: [t.activityId, t.orgUnitId] }), index('activity_scopes_unit_idx').on(t.orgUnitId)],
);

/** Who organises an activity: they alone see its minors' data and its no-show counts. */
export const activityOrganisers = pgTable(
  'activity_organisers',
  {
    activityId: uuid('activity_id')
      .notNull()
      .references(() => activities.id, { onDelete: 'cascade' }),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.activityId, t.personId] })],
);

/**
 * One session of an activity with its own seats. `taken` counts confirmed + offered seats and
 * may never pass `capacity` (a check constraint, so no code path can oversell).
 */
export const activitySessions = pgTable(
  'activity_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    activityId: uuid('activity_id')
      .notNull()
      .references(() => activities.id, { onDelete: 'cascade' }),
    /** 1 … n within the series. */
    position: integer('position').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    capacity: integer('capacity').notNull(),
    taken: integer('taken').notNull().default(0),
    /** 候补: sign-ups waiting, kept by triggers on activity_signups (migration 0032); a place in line is read from it. */
    waiting: integer('waiting').notNull().default(0),
    /** The short code staff show at the venue (签到码), one per session. */
    checkinCode: text('checkin_code').notNull(),
    reminded24At: timestamp('reminded_24_at', { withTimezone: true }),
    reminded1At: timestamp('reminded_1_at', { withTimezone: true }),
  },
  (t) => [
    check('activity_sessions_seats', sql`${t.taken} >= 0 and ${t.taken} <= ${t.capacity}`),
    check('activity_sessions_waiting', sql`${t.waiting} >= 0`),
    uniqueIndex('activity_sessions_position_key').on(t.activityId, t.position),
    index('activity_sessions_starts_idx').on(t.startsAt),
  ],
);

/** A sign-up for one session, by a resident for themself or a household member. */
export const activitySignups = pgTable(
  'activity_signups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => activitySessions.id, { onDelete: 'cascade' }),
    /** Who signed up (gets the messages); null once they erased their data (a session already held keeps the row). */
    personId: uuid('person_id').references(() => people.id, { onDelete: 'cascade' }),
    /** Who takes part: the person or a member of their household; null as `personId`. */
    participantId: uuid('participant_id').references(() => people.id, { onDelete: 'cascade' }),
    status: signupStatus('status').notNull(),
    /** Arrival order, assigned while the session row is locked: the waiting list's order. */
    arrival: bigint('arrival', { mode: 'number' }).generatedAlwaysAsIdentity(),
    /** Offers made to this sign-up; the offer timer's seq. */
    offerSeq: integer('offer_seq').notNull().default(0),
    offerExpiresAt: timestamp('offer_expires_at', { withTimezone: true }),
    cancelReason: text('cancel_reason', { enum: ['self', 'offer_expired', 'offer_declined', 'staff'] }),
    checkedInAt: timestamp('checked_in_at', { withTimezone: true }),
    /** 1–5, after the session. */
    rating: smallint('rating'),
    ratedAt: timestamp('rated_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('activity_signups_live_key').on(t.sessionId, t.participantId).where(sql`${t.status} <> 'cancelled'`),
    index('activity_signups_queue_idx').on(t.sessionId, t.status, t.arrival),
    index('activity_signups_person_idx').on(t.personId),
    check('activity_signups_rating', sql`${t.rating} is null or ${t.rating} between 1 and 5`),
  ],
);

/**
 * 四点半课堂: the child and the guardian who picks them up. A minor's data, apart from the
 * sign-up so it can be deleted at the end of term; seen only by the activity's organisers.
 */
export const afterSchoolChildren = pgTable(
  'after_school_children',
  {
  signupId: uuid('signup_id')
    .primaryKey()
    .references(() => activitySignups.id, { onDelete: 'cascade' }),
  activityId: uuid('activity_id')
    .notNull()
    .references(() => activities.id, { onDelete: 'cascade' }),
  childName: text('child_name').notNull(),
  childGrade: text('child_grade'),
  guardianName: text('guardian_name').notNull(),
  guardianPhone: text('guardian_phone').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('after_school_children_activity_idx').on(t.activityId)],
);
