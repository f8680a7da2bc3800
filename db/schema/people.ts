import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { orgUnits } from './org.js';

export const channelKind = pgEnum('channel_kind', ['telegram', 'wechat', 'web']);
export const localeKind = pgEnum('locale_kind', ['zh-CN', 'ko', 'en']);
export const householdStatus = pgEnum('household_status', ['none', 'pending', 'bound']);

/**
 * A person who talks to linli (resident, staff, or both). We keep the minimum: no real name is
 * required; a phone number only if the person gives one (masked in every view).
 */
export const people = pgTable(
  'people',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    locale: localeKind('locale').notNull().default('zh-CN'),
    /** A name the person chose to be called by; optional. */
    displayName: text('display_name'),
    phone: text('phone'),
    householdId: integer('household_id').references(() => orgUnits.id),
    householdStatus: householdStatus('household_status').notNull().default('none'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set when the person deleted their data; the row stays so foreign keys hold, emptied. */
    erasedAt: timestamp('erased_at', { withTimezone: true }),
  },
  (t) => [index('people_household_idx').on(t.householdId)],
);

/** One row per chat account; one person may use several channels. */
export const channelIdentities = pgTable(
  'channel_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    channel: channelKind('channel').notNull(),
    /** Platform user id (Telegram user id, WeChat contact id, web session id). */
    userRef: text('user_ref').notNull(),
    /** Where replies go (Telegram chat id, WeChat contact id, web session id). */
    chatRef: text('chat_ref').notNull(),
    /** The person blocked the bot: we stop sending until they write again. */
    blockedAt: timestamp('blocked_at', { withTimezone: true }),
    /** The person deleted their data from this chat: a web session then stops working (a new one starts). */
    endedAt: timestamp('ended_at', { withTimezone: true }),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('channel_identities_ref_key').on(t.channel, t.userRef), index('channel_identities_person_idx').on(t.personId)],
);

/** 知情同意: what the person agreed to, which version of the notice, and when they withdrew. */
export const consents = pgTable(
  'consents',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    noticeVersion: text('notice_version').notNull(),
    channel: channelKind('channel').notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
    withdrawnAt: timestamp('withdrawn_at', { withTimezone: true }),
  },
  (t) => [index('consents_person_idx').on(t.personId)],
);

/** Household invite codes (入户邀请码), handed out by the community; reusable by family members. */
export const householdInvites = pgTable(
  'household_invites',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** HMAC of the code (src/staff/codes.ts hashCode); the plain code is shown once. */
    codeHash: text('code_hash').notNull(),
    householdId: integer('household_id')
      .notNull()
      .references(() => orgUnits.id),
    maxUses: integer('max_uses').notNull().default(6),
    uses: integer('uses').notNull().default(0),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('household_invites_code_key').on(t.codeHash)],
);

/** A request to join a household found by street → community → building → room; staff confirm it. */
export const householdClaims = pgTable(
  'household_claims',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    householdId: integer('household_id')
      .notNull()
      .references(() => orgUnits.id),
    status: text('status', { enum: ['pending', 'approved', 'rejected', 'cancelled'] }).notNull().default('pending'),
    decidedBy: uuid('decided_by').references(() => people.id),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('household_claims_one_pending_key')
      .on(t.personId)
      .where(sql`${t.status} = 'pending'`),
    index('household_claims_household_idx').on(t.householdId),
  ],
);

export const staffRole = pgEnum('staff_role', [
  'grid_worker', // 网格员
  'building_head', // 楼栋长
  'community_secretary', // 社区书记
  'community_director', // 社区主任
  'subcommittee_member', // 居委会下属委员会成员
  'street_official', // 街道干部
  'county_official', // 县/区干部
  'admin',
]);

/** 居委会下属委员会 a case or staff member can belong to. */
export const subCommittee = pgEnum('sub_committee', [
  'general_affairs', // 综合事务服务委员会
  'mediation', // 人民调解委员会
  'emergency_health', // 应急及公共卫生服务委员会
  'environment_property', // 环境和物业监督指导委员会
  'consultation', // 居民议事协商委员会
  'convenience', // 便民服务发展委员会
]);

/** Who serves where: a role over one org unit (and everything under it). */
export const staffAssignments = pgTable(
  'staff_assignments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    role: staffRole('role').notNull(),
    orgUnitId: integer('org_unit_id')
      .notNull()
      .references(() => orgUnits.id),
    subCommittee: subCommittee('sub_committee'),
    onLeave: boolean('on_leave').notNull().default(false),
    active: boolean('active').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('staff_assignments_key').on(t.personId, t.role, t.orgUnitId),
    index('staff_assignments_unit_idx').on(t.orgUnitId, t.role),
  ],
);

/** One-time staff binding codes; only the HMAC of the code is stored. */
export const staffCodes = pgTable(
  'staff_codes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    codeHash: text('code_hash').notNull(),
    role: staffRole('role').notNull(),
    orgUnitId: integer('org_unit_id')
      .notNull()
      .references(() => orgUnits.id),
    subCommittee: subCommittee('sub_committee'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    usedBy: uuid('used_by').references(() => people.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('staff_codes_hash_key').on(t.codeHash)],
);

/** 操作留痕: who did or looked at what. Never holds names or phone numbers, only ids. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_log_subject_idx').on(t.subjectType, t.subjectId), index('audit_log_actor_idx').on(t.actorId)],
);

/**
 * 关联账号: a short-lived one-time code a person asks for on one channel and sends from another,
 * so one person can use Telegram, WeChat and the web chat as the same resident. Stored hashed.
 */
export const linkCodes = pgTable(
  'link_codes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    codeHash: text('code_hash').notNull(),
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    usedByIdentity: uuid('used_by_identity').references(() => channelIdentities.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('link_codes_hash_key').on(t.codeHash), index('link_codes_person_idx').on(t.personId)],
);
