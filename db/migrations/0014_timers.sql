CREATE TABLE "timers" (
	"kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"seq" integer NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "timers_kind_subject_id_pk" PRIMARY KEY("kind","subject_id")
);
--> statement-breakpoint
CREATE INDEX "timers_due_idx" ON "timers" USING btree ("kind","due_at");--> statement-breakpoint
CREATE INDEX "timers_due_all_idx" ON "timers" USING btree ("due_at");--> statement-breakpoint
-- Case deadlines that were running as BullMQ delayed jobs become timer rows (the case sweep no longer looks for them).
INSERT INTO "timers" ("kind", "subject_id", "seq", "due_at", "data")
SELECT 'case-deadline', "id"::text, "deadline_seq", "due_at", jsonb_build_object('dueAt', (extract(epoch from "due_at") * 1000)::bigint)
FROM "cases"
WHERE "due_at" IS NOT NULL AND "escalated_seq" < "deadline_seq" AND "status" IN ('submitted', 'assigned', 'accepted', 'resolved');--> statement-breakpoint
-- Scheduled notices that were waiting on a BullMQ delayed job become release timers (kind notice-release, seq 1).
INSERT INTO "timers" ("kind", "subject_id", "seq", "due_at", "data")
SELECT 'notice-release', "id"::text, 1, "send_at", '{}'::jsonb
FROM "notices"
WHERE "status" = 'scheduled' AND "send_at" IS NOT NULL;
