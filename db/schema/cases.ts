import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { orgUnits } from './org.js';
import { people, subCommittee } from './people.js';

/** 报事/诉求 cases. See ARCHITECTURE.md "Case lifecycle". */

export const casePriority = pgEnum('case_priority', ['urgent', 'normal', 'low']);
export const caseStatus = pgEnum('case_status', ['submitted', 'assigned', 'accepted', 'resolved', 'closed']);
/** 升级阶梯: grid worker → community → street → county. */
export const escalationLevel = pgEnum('escalation_level', ['grid', 'community', 'street', 'county']);
/** Who owns a category per the 社区权责清单 (duty list). */
export const dutyOwner = pgEnum('duty_owner', ['grid_worker', 'sub_committee', 'department']);
export const caseRating = pgEnum('case_rating', ['satisfied', 'basically_satisfied', 'unsatisfied']);
export const closeReason = pgEnum('close_reason', [
  'rated', // 已评价
  'default_satisfied', // 默认满意 (no rating in N days)
  'not_our_duty', // 不属于本社区职责 (with where it went)
  'duplicate', // 重复
  'transferred_out', // 已转办
  'withdrawn', // 居民撤回
]);

/** Case categories; community_id null = the county-wide default catalogue a community can extend. */
export const caseCategories = pgTable(
  'case_categories',
  {
    id: serial_('id'),
    communityId: integer('community_id').references(() => orgUnits.id),
    code: text('code').notNull(),
    /** {'zh-CN': '…', ko: '…', en: '…'}: category names are data the community edits, not code. */
    names: jsonb('names').$type<{ 'zh-CN': string; ko?: string; en?: string }>().notNull(),
    emergency: boolean('emergency').notNull().default(false),
    active: boolean('active').notNull().default(true),
    sortOrder: integer('sort_order').notNull().default(0),
  },
  (t) => [uniqueIndex('case_categories_key').on(sql`coalesce(${t.communityId}, 0)`, t.code)],
);

/** 社区权责清单: who owns each category in one community (权随责走). */
export const dutyList = pgTable(
  'duty_list',
  {
    id: serial_('id'),
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    categoryId: integer('category_id')
      .notNull()
      .references(() => caseCategories.id),
    owner: dutyOwner('owner').notNull(),
    subCommittee: subCommittee('sub_committee'),
    /** For department-owned matters: which department, and at which level it sits. */
    department: text('department'),
    departmentLevel: escalationLevel('department_level'),
  },
  (t) => [uniqueIndex('duty_list_key').on(t.communityId, t.categoryId)],
);

/** Deadlines per category (null = any) and priority, in minutes: to accept, and to resolve. */
export const slaPolicies = pgTable(
  'sla_policies',
  {
    id: serial_('id'),
    categoryId: integer('category_id').references(() => caseCategories.id),
    priority: casePriority('priority').notNull(),
    acceptMinutes: integer('accept_minutes').notNull(),
    resolveMinutes: integer('resolve_minutes').notNull(),
    /** Each level above the grid gets this long to act before the case climbs again. */
    escalationMinutes: integer('escalation_minutes').notNull(),
  },
  (t) => [uniqueIndex('sla_policies_key').on(sql`coalesce(${t.categoryId}, 0)`, t.priority)],
);

export const cases = pgTable(
  'cases',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Readable number, e.g. JH-20261122-0007. */
    number: text('number').notNull(),
    /** Makes intake idempotent: `<channel>:<messageRef>` of the message that created it, or a desk key. */
    intakeKey: text('intake_key'),
    communityId: integer('community_id')
      .notNull()
      .references(() => orgUnits.id),
    gridId: integer('grid_id').references(() => orgUnits.id),
    /** Household or building the case is about (the reporter's own household by default). */
    placeId: integer('place_id').references(() => orgUnits.id),
    categoryId: integer('category_id')
      .notNull()
      .references(() => caseCategories.id),
    priority: casePriority('priority').notNull().default('normal'),
    description: text('description').notNull(),
    lat: numeric('lat', { precision: 9, scale: 6 }),
    lng: numeric('lng', { precision: 9, scale: 6 }),
    locationLabel: text('location_label'),
    reporterId: uuid('reporter_id').references(() => people.id),
    /** False when the reporter's household claim still awaited verification (the card says 住户待核实). */
    householdVerified: boolean('household_verified').notNull().default(true),
    /** 一窗受理: the desk staff who logged a walk-in/phone-in case. */
    intakeStaffId: uuid('intake_staff_id').references(() => people.id),
    /** The one-time code the desk hands a walk-in resident to follow the case in chat (hash only). */
    followCodeHash: text('follow_code_hash'),
    /** 首接负责制: the unit that first received the case stays responsible for seeing it through. */
    firstUnitId: integer('first_unit_id').references(() => orgUnits.id),
    status: caseStatus('status').notNull().default('submitted'),
    level: escalationLevel('level').notNull().default('grid'),
    assigneeId: uuid('assignee_id').references(() => people.id),
    assigneeUnitId: integer('assignee_unit_id').references(() => orgUnits.id),
    assigneeSubCommittee: subCommittee('assignee_sub_committee'),
    /** The deadline now running (accept or resolve) and its sequence number; timers are keyed by it. */
    dueAt: timestamp('due_at', { withTimezone: true }),
    deadlineSeq: integer('deadline_seq').notNull().default(0),
    /** The last deadline sequence that escalated: a deadline escalates at most once. */
    escalatedSeq: integer('escalated_seq').notNull().default(0),
    reopenCount: integer('reopen_count').notNull().default(0),
    duplicateOf: uuid('duplicate_of'),
    rating: caseRating('rating'),
    ratingComment: text('rating_comment'),
    closeReason: closeReason('close_reason'),
    closeNote: text('close_note'),
    firstResponseAt: timestamp('first_response_at', { withTimezone: true }),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('cases_number_key').on(t.number),
    uniqueIndex('cases_intake_key').on(t.intakeKey),
    uniqueIndex('cases_follow_code_key').on(t.followCodeHash),
    index('cases_due_idx')
      .on(t.dueAt)
      .where(sql`${t.status} in ('submitted','assigned','accepted')`),
    // Cases waiting for routing, oldest first: what a route batch and the sweep take.
    index('cases_waiting_idx')
      .on(t.createdAt)
      .where(sql`${t.status} = 'submitted'`),
    index('cases_assignee_idx').on(t.assigneeId, t.status),
    index('cases_community_idx').on(t.communityId, t.createdAt),
    index('cases_reporter_idx').on(t.reporterId, t.createdAt),
    check('cases_escalated_le_seq', sql`${t.escalatedSeq} <= ${t.deadlineSeq}`),
  ],
);

export const caseEventKind = pgEnum('case_event_kind', [
  'submitted',
  'assigned',
  'accepted',
  'transferred',
  'returned',
  'escalated',
  'reminded',
  'resolved',
  'reopened',
  'rated',
  'closed',
  'commented',
  'info_added',
  'linked',
]);

/** 时间线: every transition, who, when, what, why. `public` rows are the resident's plain-language subset. */
export const caseEvents = pgTable(
  'case_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    caseId: uuid('case_id')
      .notNull()
      .references(() => cases.id, { onDelete: 'cascade' }),
    kind: caseEventKind('kind').notNull(),
    actorId: uuid('actor_id').references(() => people.id),
    fromStatus: caseStatus('from_status'),
    toStatus: caseStatus('to_status'),
    level: escalationLevel('level'),
    reason: text('reason'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    public: boolean('public').notNull().default(true),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('case_events_case_idx').on(t.caseId, t.id)],
);

/** Photos stored with EXIF/GPS stripped; `storageKey` names the blob in the photo store. */
export const casePhotos = pgTable(
  'case_photos',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    caseId: uuid('case_id')
      .notNull()
      .references(() => cases.id, { onDelete: 'cascade' }),
    storageKey: text('storage_key').notNull(),
    mimeType: text('mime_type').notNull(),
    bytes: integer('bytes').notNull(),
    sha256: text('sha256').notNull(),
    /** The card-sized copy stored beside the photo (its own content-addressed key); null for photos from before thumbnails. */
    thumbnailKey: text('thumbnail_key'),
    /** 'report' (resident), 'resolution' (worker), 'info' (added later). */
    purpose: text('purpose', { enum: ['report', 'resolution', 'info'] }).notNull(),
    addedBy: uuid('added_by').references(() => people.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('case_photos_case_idx').on(t.caseId)],
);

/** People who reported the same problem: all hear the outcome (linked duplicates). */
export const caseFollowers = pgTable(
  'case_followers',
  {
    caseId: uuid('case_id')
      .notNull()
      .references(() => cases.id, { onDelete: 'cascade' }),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    since: timestamp('since', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.caseId, t.personId] })],
);

/** Per-community daily counter behind readable case numbers. */
export const caseNumberCounters = pgTable(
  'case_number_counters',
  {
    prefix: text('prefix').notNull(),
    day: date('day').notNull(),
    last: integer('last').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.prefix, t.day] })],
);

function serial_(name: string) {
  return integer(name).primaryKey().generatedAlwaysAsIdentity();
}
