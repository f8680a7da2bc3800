-- A notice's delivery records are written a page of a thousand at a time by the fan-out, and their
-- two foreign keys to the person and the chat were a third of that statement's time (bench (e)).
-- The rows they pointed at are deleted in two places only, which now delete or move the records
-- themselves: erasure (src/residents/privacy.ts) and joining a chat to another person
-- (src/residents/linking.ts). The key to the notice stays (deleting a notice takes its records).
ALTER TABLE "notice_deliveries" DROP CONSTRAINT IF EXISTS "notice_deliveries_identity_id_channel_identities_id_fk";--> statement-breakpoint
ALTER TABLE "notice_deliveries" DROP CONSTRAINT IF EXISTS "notice_deliveries_person_id_people_id_fk";
