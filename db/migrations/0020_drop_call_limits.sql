-- Platform call limits are named limiters of the one limit store (src/limits/store.ts) now, in
-- rate_limits when there is no Redis: the separate table is no longer used.
DROP TABLE IF EXISTS "call_limits";
