ALTER TABLE "cases" ADD COLUMN "follow_code_hash" text;--> statement-breakpoint
CREATE UNIQUE INDEX "cases_follow_code_key" ON "cases" USING btree ("follow_code_hash");