-- A ballot and its voter row are written only by statements that hold their consultation FOR KEY
-- SHARE (src/consultations/first-ballot.ts, commands.ts holdOpen), and consultations are never
-- deleted, so these two foreign keys checked what was already held. Each check took the same row
-- lock again, from every voter of a vote at once (a multixact per ballot on one hot row).
ALTER TABLE "ballots" DROP CONSTRAINT IF EXISTS "ballots_consultation_id_fkey";--> statement-breakpoint
ALTER TABLE "consultation_voters" DROP CONSTRAINT IF EXISTS "consultation_voters_consultation_id_fkey";
