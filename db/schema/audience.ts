import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { orgUnits } from './org.js';
import { people } from './people.js';

/**
 * Audience groups a notice, a consultation or an activity can address besides an area:
 * 60 岁以上老人, 学生家长, 业主, 志愿者, 党员.
 */
export const audienceGroup = pgEnum('audience_group', ['elderly', 'school_parents', 'owners', 'volunteers', 'party_members']);

/**
 * Group membership is a fact kept on a person or on a household (业主 of a home, a household of
 * 独居老人), by staff, or by the resident themself where it is theirs to say (src/audience/groups.ts).
 */
export const audienceMemberships = pgTable(
  'audience_memberships',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    group: audienceGroup('group').notNull(),
    personId: uuid('person_id').references(() => people.id, { onDelete: 'cascade' }),
    householdId: integer('household_id').references(() => orgUnits.id, { onDelete: 'cascade' }),
    source: text('source', { enum: ['staff', 'self'] }).notNull(),
    addedBy: uuid('added_by').references(() => people.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('audience_memberships_one_subject', sql`(${t.personId} is null) <> (${t.householdId} is null)`),
    uniqueIndex('audience_memberships_person_key').on(t.group, t.personId).where(sql`${t.personId} is not null`),
    uniqueIndex('audience_memberships_household_key').on(t.group, t.householdId).where(sql`${t.householdId} is not null`),
    index('audience_memberships_person_idx').on(t.personId),
    index('audience_memberships_household_idx').on(t.householdId),
  ],
);

/**
 * Topics a person switched off, e.g. `notice.activity`: a row means "don't send me these".
 * Generic so consultations and activities keep their preferences here too; what may not be
 * switched off (`notice.emergency`) is a rule in src/audience/preferences.ts, and the audience
 * of such messages ignores this table.
 */
export const mutedTopics = pgTable(
  'muted_topics',
  {
    personId: uuid('person_id')
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    topic: text('topic').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.personId, t.topic] }), check('muted_topics_not_emergency', sql`${t.topic} <> 'notice.emergency'`)],
);
