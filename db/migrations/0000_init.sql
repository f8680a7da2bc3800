CREATE TYPE "public"."org_kind" AS ENUM('county', 'street', 'community', 'grid', 'building', 'unit', 'household');--> statement-breakpoint
CREATE TYPE "public"."channel_kind" AS ENUM('telegram', 'wechat', 'web');--> statement-breakpoint
CREATE TYPE "public"."household_status" AS ENUM('none', 'pending', 'bound');--> statement-breakpoint
CREATE TYPE "public"."locale_kind" AS ENUM('zh-CN', 'ko', 'en');--> statement-breakpoint
CREATE TYPE "public"."staff_role" AS ENUM('grid_worker', 'building_head', 'community_secretary', 'community_director', 'subcommittee_member', 'street_official', 'county_official', 'admin');--> statement-breakpoint
CREATE TYPE "public"."sub_committee" AS ENUM('general_affairs', 'mediation', 'emergency_health', 'environment_property', 'consultation', 'convenience');--> statement-breakpoint
CREATE TABLE "org_units" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" "org_kind" NOT NULL,
	"parent_id" integer,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"path" text NOT NULL,
	"floor_area_m2" numeric(10, 2),
	"lat" numeric(9, 6),
	"lng" numeric(9, 6),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "org_units_area_household_only" CHECK ("org_units"."floor_area_m2" is null or "org_units"."kind" = 'household')
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"actor_id" uuid,
	"action" text NOT NULL,
	"subject_type" text NOT NULL,
	"subject_id" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_identities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"person_id" uuid NOT NULL,
	"channel" "channel_kind" NOT NULL,
	"user_ref" text NOT NULL,
	"chat_ref" text NOT NULL,
	"blocked_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "consents" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"person_id" uuid NOT NULL,
	"notice_version" text NOT NULL,
	"channel" "channel_kind" NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"withdrawn_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "household_claims" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"person_id" uuid NOT NULL,
	"household_id" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"decided_by" uuid,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "household_invites" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"household_id" integer NOT NULL,
	"max_uses" integer DEFAULT 6 NOT NULL,
	"uses" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "people" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"locale" "locale_kind" DEFAULT 'zh-CN' NOT NULL,
	"display_name" text,
	"phone" text,
	"household_id" integer,
	"household_status" "household_status" DEFAULT 'none' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"erased_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "staff_assignments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"person_id" uuid NOT NULL,
	"role" "staff_role" NOT NULL,
	"org_unit_id" integer NOT NULL,
	"sub_committee" "sub_committee",
	"on_leave" boolean DEFAULT false NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "staff_codes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"code_hash" text NOT NULL,
	"role" "staff_role" NOT NULL,
	"org_unit_id" integer NOT NULL,
	"sub_committee" "sub_committee",
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"used_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dialog_states" (
	"identity_id" uuid PRIMARY KEY NOT NULL,
	"flow" text NOT NULL,
	"step" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"choices" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbound_messages" (
	"channel" "channel_kind" NOT NULL,
	"message_ref" text NOT NULL,
	"identity_id" uuid,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbound_messages_channel_message_ref_pk" PRIMARY KEY("channel","message_ref")
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"identity_id" uuid NOT NULL,
	"channel" "channel_kind" NOT NULL,
	"chat_ref" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"sent_ref" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "org_units" ADD CONSTRAINT "org_units_parent_id_org_units_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."org_units"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_identities" ADD CONSTRAINT "channel_identities_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "household_claims" ADD CONSTRAINT "household_claims_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "household_claims" ADD CONSTRAINT "household_claims_household_id_org_units_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "household_claims" ADD CONSTRAINT "household_claims_decided_by_people_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "household_invites" ADD CONSTRAINT "household_invites_household_id_org_units_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "people" ADD CONSTRAINT "people_household_id_org_units_id_fk" FOREIGN KEY ("household_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_assignments" ADD CONSTRAINT "staff_assignments_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_assignments" ADD CONSTRAINT "staff_assignments_org_unit_id_org_units_id_fk" FOREIGN KEY ("org_unit_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_codes" ADD CONSTRAINT "staff_codes_org_unit_id_org_units_id_fk" FOREIGN KEY ("org_unit_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_codes" ADD CONSTRAINT "staff_codes_used_by_people_id_fk" FOREIGN KEY ("used_by") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dialog_states" ADD CONSTRAINT "dialog_states_identity_id_channel_identities_id_fk" FOREIGN KEY ("identity_id") REFERENCES "public"."channel_identities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_identity_id_channel_identities_id_fk" FOREIGN KEY ("identity_id") REFERENCES "public"."channel_identities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "org_units_code_key" ON "org_units" USING btree ("code");--> statement-breakpoint
CREATE INDEX "org_units_parent_idx" ON "org_units" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "org_units_path_idx" ON "org_units" USING btree ("path" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "audit_log_subject_idx" ON "audit_log" USING btree ("subject_type","subject_id");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" USING btree ("actor_id");--> statement-breakpoint
CREATE UNIQUE INDEX "channel_identities_ref_key" ON "channel_identities" USING btree ("channel","user_ref");--> statement-breakpoint
CREATE INDEX "channel_identities_person_idx" ON "channel_identities" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "consents_person_idx" ON "consents" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "household_claims_one_pending_key" ON "household_claims" USING btree ("person_id") WHERE "household_claims"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "household_claims_household_idx" ON "household_claims" USING btree ("household_id");--> statement-breakpoint
CREATE UNIQUE INDEX "household_invites_code_key" ON "household_invites" USING btree ("code");--> statement-breakpoint
CREATE INDEX "people_household_idx" ON "people" USING btree ("household_id");--> statement-breakpoint
CREATE UNIQUE INDEX "staff_assignments_key" ON "staff_assignments" USING btree ("person_id","role","org_unit_id");--> statement-breakpoint
CREATE INDEX "staff_assignments_unit_idx" ON "staff_assignments" USING btree ("org_unit_id","role");--> statement-breakpoint
CREATE UNIQUE INDEX "staff_codes_hash_key" ON "staff_codes" USING btree ("code_hash");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("identity_id","id") WHERE "outbox"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "outbox_identity_idx" ON "outbox" USING btree ("identity_id","id");