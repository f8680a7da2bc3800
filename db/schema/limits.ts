import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Rate-limit counters shared by every process when there is no Redis (rate-limiter-flexible's
 * RateLimiterDrizzle reads and writes exactly these three columns). With REDIS_URL the counters
 * live in Redis instead; either way a new session or a restart does not reset them.
 */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull().default(0),
  expire: timestamp('expire', { withTimezone: true }),
});
