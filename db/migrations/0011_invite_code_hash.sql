-- Invite codes are stored as an HMAC under the server's code key, like staff, link and follow
-- codes. The plain codes of earlier rows cannot be hashed here (the key is not in the database),
-- so those invites are revoked and their plain text removed; issue new ones with the CLI.
ALTER TABLE "household_invites" ADD COLUMN "code_hash" text;--> statement-breakpoint
UPDATE "household_invites" SET "code_hash" = 'revoked:' || "id", "revoked_at" = coalesce("revoked_at", now());--> statement-breakpoint
ALTER TABLE "household_invites" ALTER COLUMN "code_hash" SET NOT NULL;--> statement-breakpoint
DROP INDEX "household_invites_code_key";--> statement-breakpoint
ALTER TABLE "household_invites" DROP COLUMN "code";--> statement-breakpoint
CREATE UNIQUE INDEX "household_invites_code_key" ON "household_invites" USING btree ("code_hash");
