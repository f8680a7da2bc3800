import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * 定时器: every timer of every module (case deadlines, scheduled notices, later poll closing,
 * waitlist offers, reminders) is one row, so the database is the source of truth and a lost
 * Redis loses no timer (src/timers/timers.ts). One live timer per (kind, subject); `seq` numbers
 * its versions, so a stale one can never overwrite or fire in place of a newer one.
 */
export const timers = pgTable(
  'timers',
  {
    kind: text('kind').notNull(),
    subjectId: text('subject_id').notNull(),
    seq: integer('seq').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    /** Ids and times only, never personal data (like job payloads). */
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.subjectId] }), index('timers_due_idx').on(t.kind, t.dueAt), index('timers_due_all_idx').on(t.dueAt)],
);
