import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, integer, numeric, pgEnum, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { orgUnits } from './org.js';
import { people } from './people.js';

/** 志愿者: one profile per person. */
export const volunteerProfiles = pgTable(
  'volunteer_profiles',
  {
    personId: uuid('person_id')
      .primaryKey()
      .references(() => people.id, { onDelete: 'cascade' }),
    /** The community the volunteer serves in (for 在职党员: their home community). */
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    skills: text('skills').array().notNull().default(sql`'{}'::text[]`),
    /** Free text: "周末上午", "工作日晚上". */
    availability: text('availability'),
    /** 志愿服务队 name, e.g. 红马甲服务队. */
    team: text('team'),
    /** 在职党员到社区报到: when an in-service party member reported to their home community. */
    partyReportedAt: timestamp('party_reported_at', { withTimezone: true }),
    /** Their workplace party organisation (what the community records with the report). */
    partyWorkUnit: text('party_work_unit'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('volunteer_profiles_community_idx').on(t.communityId)],
);

export const volunteerTaskKind = pgEnum('volunteer_task_kind', ['task', 'visit']);

/** A task with time, place, slots and wanted skills; `taken` never passes `slots`. */
export const volunteerTasks = pgTable(
  'volunteer_tasks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: volunteerTaskKind('kind').notNull().default('task'),
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    organiserId: uuid('organiser_id')
      .notNull()
      .references(() => people.id),
    title: text('title').notNull(),
    place: text('place').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    slots: integer('slots').notNull(),
    taken: integer('taken').notNull().default(0),
    skills: text('skills').array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('volunteer_tasks_slots', sql`${t.taken} >= 0 and ${t.taken} <= ${t.slots}`), index('volunteer_tasks_community_idx').on(t.communityId, t.startsAt)],
);

/** signed → attended (hours confirmed) or absent; withdrawn frees the slot. */
export const volunteerSignupStatus = pgEnum('volunteer_signup_status', ['signed', 'withdrawn', 'attended', 'absent']);

export const volunteerSignups = pgTable(
  'volunteer_signups',
  {
    taskId: uuid('task_id')
      .notNull()
      .references(() => volunteerTasks.id, { onDelete: 'cascade' }),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    status: volunteerSignupStatus('status').notNull().default('signed'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.personId] }), index('volunteer_signups_person_idx').on(t.personId)],
);

/** 志愿服务时长: the hours ledger, one row per confirmed service; team and community as they were. */
export const volunteerHours = pgTable(
  'volunteer_hours',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Null once the volunteer erased their data: the hours stay in the totals. */
    personId: uuid('person_id').references(() => people.id, { onDelete: 'cascade' }),
    /** Set on erasure instead of the person: one random key per community, team and month (migration 0028). */
    erasedKey: uuid('erased_key'),
    taskId: uuid('task_id').references(() => volunteerTasks.id, { onDelete: 'set null' }),
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    team: text('team'),
    hours: numeric('hours', { precision: 6, scale: 2, mode: 'number' }).notNull(),
    servedAt: timestamp('served_at', { withTimezone: true }).notNull(),
    confirmedBy: uuid('confirmed_by')
      .notNull()
      .references(() => people.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('volunteer_hours_positive', sql`${t.hours} > 0 and ${t.hours} <= 24`),
    index('volunteer_hours_person_idx').on(t.personId, t.servedAt),
    index('volunteer_hours_community_idx').on(t.communityId, t.servedAt),
  ],
);

/**
 * 独居老人巡访: a volunteer visits someone every `everyDays`. `visitee` is how the community
 * names the place (e.g. "3号楼2单元301"), not a full record of the person.
 */
export const visitRosters = pgTable(
  'visit_rosters',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    /** Null once the volunteer erased their data (the roster is then ended). */
    volunteerId: uuid('volunteer_id').references(() => people.id),
    visitee: text('visitee').notNull(),
    everyDays: integer('every_days').notNull(),
    /** The end of the current period: a visit must be logged before it. */
    nextDueAt: timestamp('next_due_at', { withTimezone: true }).notNull(),
    /** Periods passed (the due timer's seq). */
    period: integer('period').notNull().default(1),
    active: boolean('active').notNull().default(true),
    createdBy: uuid('created_by')
      .notNull()
      .references(() => people.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('visit_rosters_every', sql`${t.everyDays} between 1 and 90`), index('visit_rosters_community_idx').on(t.communityId)],
);

/** One visit, with a short note. */
export const visitLogs = pgTable(
  'visit_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    rosterId: uuid('roster_id')
      .notNull()
      .references(() => visitRosters.id, { onDelete: 'cascade' }),
    /** Null once the volunteer erased their data (the note is then redacted). */
    volunteerId: uuid('volunteer_id').references(() => people.id),
    visitedAt: timestamp('visited_at', { withTimezone: true }).notNull(),
    note: text('note').notNull(),
  },
  (t) => [index('visit_logs_roster_idx').on(t.rosterId, t.visitedAt)],
);

/** A period that ended without a visit: flagged to the community. */
export const visitMisses = pgTable(
  'visit_misses',
  {
    rosterId: uuid('roster_id')
      .notNull()
      .references(() => visitRosters.id, { onDelete: 'cascade' }),
    period: integer('period').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    flaggedAt: timestamp('flagged_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.rosterId, t.period] })],
);
