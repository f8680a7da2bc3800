CREATE TYPE "public"."activity_kind" AS ENUM('lecture', 'after_school', 'culture_sports', 'service', 'other');
--> statement-breakpoint
CREATE TYPE "public"."service_line" AS ENUM('law', 'health', 'sport', 'culture', 'tourism', 'emergency', 'safety', 'jobs', 'insurance');
--> statement-breakpoint
CREATE TYPE "public"."signup_status" AS ENUM('confirmed', 'waiting', 'offered', 'cancelled');
--> statement-breakpoint
CREATE TABLE "activities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "activity_kind" NOT NULL,
	"service_line" "service_line",
	"title" text NOT NULL,
	"topic" text,
	"speaker" text,
	"venue" text,
	"link" text,
	"community_id" integer NOT NULL,
	"groups" "audience_group"[] DEFAULT '{}'::audience_group[] NOT NULL,
	"signup_opens_at" timestamp with time zone NOT NULL,
	"signup_closes_at" timestamp with time zone NOT NULL,
	"offer_minutes" integer DEFAULT 120 NOT NULL,
	"term_ends_at" timestamp with time zone,
	"minor_data_purged_at" timestamp with time zone,
	"created_by" uuid NOT NULL,
	"notice_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "activity_organisers" (
	"activity_id" uuid NOT NULL,
	"person_id" uuid NOT NULL,
	CONSTRAINT "activity_organisers_activity_id_person_id_pk" PRIMARY KEY("activity_id","person_id")
);
--> statement-breakpoint
CREATE TABLE "activity_scopes" (
	"activity_id" uuid NOT NULL,
	"org_unit_id" integer NOT NULL,
	CONSTRAINT "activity_scopes_activity_id_org_unit_id_pk" PRIMARY KEY("activity_id","org_unit_id")
);
--> statement-breakpoint
CREATE TABLE "activity_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"activity_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"capacity" integer NOT NULL,
	"taken" integer DEFAULT 0 NOT NULL,
	"checkin_code" text NOT NULL,
	"reminded_24_at" timestamp with time zone,
	"reminded_1_at" timestamp with time zone,
	CONSTRAINT "activity_sessions_seats" CHECK ("activity_sessions"."taken" >= 0 and "activity_sessions"."taken" <= "activity_sessions"."capacity")
);
--> statement-breakpoint
CREATE TABLE "activity_signups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"session_id" uuid NOT NULL,
	"person_id" uuid NOT NULL,
	"participant_id" uuid NOT NULL,
	"status" "signup_status" NOT NULL,
	"arrival" bigint GENERATED ALWAYS AS IDENTITY (sequence name "activity_signups_arrival_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"offer_seq" integer DEFAULT 0 NOT NULL,
	"offer_expires_at" timestamp with time zone,
	"cancel_reason" text,
	"checked_in_at" timestamp with time zone,
	"rating" smallint,
	"rated_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "activity_signups_rating" CHECK ("activity_signups"."rating" is null or "activity_signups"."rating" between 1 and 5)
);
--> statement-breakpoint
CREATE TABLE "after_school_children" (
	"signup_id" uuid PRIMARY KEY NOT NULL,
	"activity_id" uuid NOT NULL,
	"child_name" text NOT NULL,
	"child_grade" text,
	"guardian_name" text NOT NULL,
	"guardian_phone" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "activities" ADD CONSTRAINT "activities_community_id_org_units_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activities" ADD CONSTRAINT "activities_created_by_people_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activities" ADD CONSTRAINT "activities_notice_id_notices_id_fk" FOREIGN KEY ("notice_id") REFERENCES "public"."notices"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_organisers" ADD CONSTRAINT "activity_organisers_activity_id_activities_id_fk" FOREIGN KEY ("activity_id") REFERENCES "public"."activities"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_organisers" ADD CONSTRAINT "activity_organisers_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_scopes" ADD CONSTRAINT "activity_scopes_activity_id_activities_id_fk" FOREIGN KEY ("activity_id") REFERENCES "public"."activities"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_scopes" ADD CONSTRAINT "activity_scopes_org_unit_id_org_units_id_fk" FOREIGN KEY ("org_unit_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_sessions" ADD CONSTRAINT "activity_sessions_activity_id_activities_id_fk" FOREIGN KEY ("activity_id") REFERENCES "public"."activities"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_signups" ADD CONSTRAINT "activity_signups_session_id_activity_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."activity_sessions"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_signups" ADD CONSTRAINT "activity_signups_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "activity_signups" ADD CONSTRAINT "activity_signups_participant_id_people_id_fk" FOREIGN KEY ("participant_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "after_school_children" ADD CONSTRAINT "after_school_children_signup_id_activity_signups_id_fk" FOREIGN KEY ("signup_id") REFERENCES "public"."activity_signups"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "after_school_children" ADD CONSTRAINT "after_school_children_activity_id_activities_id_fk" FOREIGN KEY ("activity_id") REFERENCES "public"."activities"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "activities_community_idx" ON "activities" USING btree ("community_id","kind");
--> statement-breakpoint
CREATE INDEX "activity_scopes_unit_idx" ON "activity_scopes" USING btree ("org_unit_id");
--> statement-breakpoint
CREATE UNIQUE INDEX "activity_sessions_position_key" ON "activity_sessions" USING btree ("activity_id","position");
--> statement-breakpoint
CREATE INDEX "activity_sessions_starts_idx" ON "activity_sessions" USING btree ("starts_at");
--> statement-breakpoint
CREATE UNIQUE INDEX "activity_signups_live_key" ON "activity_signups" USING btree ("session_id","participant_id") WHERE "activity_signups"."status" <> 'cancelled';
--> statement-breakpoint
CREATE INDEX "activity_signups_queue_idx" ON "activity_signups" USING btree ("session_id","status","arrival");
--> statement-breakpoint
CREATE INDEX "activity_signups_person_idx" ON "activity_signups" USING btree ("person_id");
--> statement-breakpoint
CREATE INDEX "after_school_children_activity_idx" ON "after_school_children" USING btree ("activity_id");
