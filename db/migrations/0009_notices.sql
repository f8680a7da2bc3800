CREATE TYPE "public"."audience_group" AS ENUM('elderly', 'school_parents', 'owners', 'volunteers', 'party_members');--> statement-breakpoint
CREATE TYPE "public"."notice_category" AS ENUM('party', 'affairs', 'finance', 'service', 'outage', 'activity', 'emergency', 'general');--> statement-breakpoint
CREATE TYPE "public"."notice_status" AS ENUM('draft', 'scheduled', 'sending', 'sent', 'corrected', 'withdrawn');--> statement-breakpoint
CREATE TABLE "audience_memberships" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"group" "audience_group" NOT NULL,
	"person_id" uuid,
	"household_id" integer,
	"source" text NOT NULL,
	"added_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audience_memberships_one_subject" CHECK (("audience_memberships"."person_id" is null) <> ("audience_memberships"."household_id" is null))
);
--> statement-breakpoint
CREATE TABLE "muted_topics" (
	"person_id" uuid NOT NULL,
	"topic" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "muted_topics_person_id_topic_pk" PRIMARY KEY("person_id","topic"),
	CONSTRAINT "muted_topics_not_emergency" CHECK ("muted_topics"."topic" <> 'notice.emergency')
);
--> statement-breakpoint
CREATE TABLE "notice_deliveries" (
	"notice_id" uuid NOT NULL,
	"wave" smallint NOT NULL,
	"identity_id" uuid NOT NULL,
	"person_id" uuid NOT NULL,
	"household_id" integer,
	"channel" "channel_kind" NOT NULL,
	"outbox_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notice_deliveries_notice_id_wave_identity_id_pk" PRIMARY KEY("notice_id","wave","identity_id")
);
--> statement-breakpoint
CREATE TABLE "notice_reads" (
	"notice_id" uuid NOT NULL,
	"person_id" uuid NOT NULL,
	"via" text NOT NULL,
	"read_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notice_reads_notice_id_person_id_pk" PRIMARY KEY("notice_id","person_id")
);
--> statement-breakpoint
CREATE TABLE "notice_scopes" (
	"notice_id" uuid NOT NULL,
	"org_unit_id" integer NOT NULL,
	CONSTRAINT "notice_scopes_notice_id_org_unit_id_pk" PRIMARY KEY("notice_id","org_unit_id")
);
--> statement-breakpoint
CREATE TABLE "notices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"author_id" uuid NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"photo_key" text,
	"category" "notice_category" NOT NULL,
	"groups" "audience_group"[] DEFAULT '{}'::audience_group[] NOT NULL,
	"status" "notice_status" DEFAULT 'draft' NOT NULL,
	"send_at" timestamp with time zone,
	"released_at" timestamp with time zone,
	"deliver_from" timestamp with time zone,
	"fanout_done_at" timestamp with time zone,
	"correction" text,
	"revision" smallint DEFAULT 0 NOT NULL,
	"withdrawn_at" timestamp with time zone,
	"withdraw_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audience_memberships" ADD CONSTRAINT "audience_memberships_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audience_memberships" ADD CONSTRAINT "audience_memberships_household_id_org_units_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."org_units"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audience_memberships" ADD CONSTRAINT "audience_memberships_added_by_people_id_fk" FOREIGN KEY ("added_by") REFERENCES "public"."people"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "muted_topics" ADD CONSTRAINT "muted_topics_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notice_deliveries" ADD CONSTRAINT "notice_deliveries_notice_id_notices_id_fk" FOREIGN KEY ("notice_id") REFERENCES "public"."notices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notice_deliveries" ADD CONSTRAINT "notice_deliveries_identity_id_channel_identities_id_fk" FOREIGN KEY ("identity_id") REFERENCES "public"."channel_identities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notice_deliveries" ADD CONSTRAINT "notice_deliveries_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notice_reads" ADD CONSTRAINT "notice_reads_notice_id_notices_id_fk" FOREIGN KEY ("notice_id") REFERENCES "public"."notices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notice_reads" ADD CONSTRAINT "notice_reads_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notice_scopes" ADD CONSTRAINT "notice_scopes_notice_id_notices_id_fk" FOREIGN KEY ("notice_id") REFERENCES "public"."notices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notice_scopes" ADD CONSTRAINT "notice_scopes_org_unit_id_org_units_id_fk" FOREIGN KEY ("org_unit_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notices" ADD CONSTRAINT "notices_author_id_people_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "audience_memberships_person_key" ON "audience_memberships" USING btree ("group","person_id") WHERE "audience_memberships"."person_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "audience_memberships_household_key" ON "audience_memberships" USING btree ("group","household_id") WHERE "audience_memberships"."household_id" is not null;--> statement-breakpoint
CREATE INDEX "audience_memberships_person_idx" ON "audience_memberships" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "audience_memberships_household_idx" ON "audience_memberships" USING btree ("household_id");--> statement-breakpoint
CREATE INDEX "notice_deliveries_person_idx" ON "notice_deliveries" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "notice_scopes_unit_idx" ON "notice_scopes" USING btree ("org_unit_id");--> statement-breakpoint
CREATE INDEX "notices_status_idx" ON "notices" USING btree ("status","send_at");--> statement-breakpoint
CREATE INDEX "notices_author_idx" ON "notices" USING btree ("author_id");