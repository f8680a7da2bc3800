-- A notice the system writes (a consultation's announcement and result) in every language, so
-- each resident reads it in theirs (db/schema/notices.ts `texts`).
ALTER TABLE "notices" ADD COLUMN IF NOT EXISTS "texts" jsonb;
