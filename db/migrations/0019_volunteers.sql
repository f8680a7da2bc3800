CREATE TYPE "public"."volunteer_signup_status" AS ENUM('signed', 'withdrawn', 'attended', 'absent');
--> statement-breakpoint
CREATE TYPE "public"."volunteer_task_kind" AS ENUM('task', 'visit');
--> statement-breakpoint
CREATE TABLE "visit_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"roster_id" uuid NOT NULL,
	"volunteer_id" uuid NOT NULL,
	"visited_at" timestamp with time zone NOT NULL,
	"note" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "visit_misses" (
	"roster_id" uuid NOT NULL,
	"period" integer NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"flagged_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "visit_misses_roster_id_period_pk" PRIMARY KEY("roster_id","period")
);
--> statement-breakpoint
CREATE TABLE "visit_rosters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"community_id" integer NOT NULL,
	"volunteer_id" uuid NOT NULL,
	"visitee" text NOT NULL,
	"every_days" integer NOT NULL,
	"next_due_at" timestamp with time zone NOT NULL,
	"period" integer DEFAULT 1 NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "visit_rosters_every" CHECK ("visit_rosters"."every_days" between 1 and 90)
);
--> statement-breakpoint
CREATE TABLE "volunteer_hours" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"person_id" uuid NOT NULL,
	"task_id" uuid,
	"community_id" integer NOT NULL,
	"team" text,
	"hours" numeric(6, 2) NOT NULL,
	"served_at" timestamp with time zone NOT NULL,
	"confirmed_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "volunteer_hours_positive" CHECK ("volunteer_hours"."hours" > 0 and "volunteer_hours"."hours" <= 24)
);
--> statement-breakpoint
CREATE TABLE "volunteer_profiles" (
	"person_id" uuid PRIMARY KEY NOT NULL,
	"community_id" integer NOT NULL,
	"skills" text[] DEFAULT '{}'::text[] NOT NULL,
	"availability" text,
	"team" text,
	"party_reported_at" timestamp with time zone,
	"party_work_unit" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "volunteer_signups" (
	"task_id" uuid NOT NULL,
	"person_id" uuid NOT NULL,
	"status" "volunteer_signup_status" DEFAULT 'signed' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "volunteer_signups_task_id_person_id_pk" PRIMARY KEY("task_id","person_id")
);
--> statement-breakpoint
CREATE TABLE "volunteer_tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "volunteer_task_kind" DEFAULT 'task' NOT NULL,
	"community_id" integer NOT NULL,
	"organiser_id" uuid NOT NULL,
	"title" text NOT NULL,
	"place" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"slots" integer NOT NULL,
	"taken" integer DEFAULT 0 NOT NULL,
	"skills" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "volunteer_tasks_slots" CHECK ("volunteer_tasks"."taken" >= 0 and "volunteer_tasks"."taken" <= "volunteer_tasks"."slots")
);
--> statement-breakpoint
ALTER TABLE "visit_logs" ADD CONSTRAINT "visit_logs_roster_id_visit_rosters_id_fk" FOREIGN KEY ("roster_id") REFERENCES "public"."visit_rosters"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "visit_logs" ADD CONSTRAINT "visit_logs_volunteer_id_people_id_fk" FOREIGN KEY ("volunteer_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "visit_misses" ADD CONSTRAINT "visit_misses_roster_id_visit_rosters_id_fk" FOREIGN KEY ("roster_id") REFERENCES "public"."visit_rosters"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "visit_rosters" ADD CONSTRAINT "visit_rosters_community_id_org_units_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "visit_rosters" ADD CONSTRAINT "visit_rosters_volunteer_id_people_id_fk" FOREIGN KEY ("volunteer_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "visit_rosters" ADD CONSTRAINT "visit_rosters_created_by_people_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_hours" ADD CONSTRAINT "volunteer_hours_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_hours" ADD CONSTRAINT "volunteer_hours_task_id_volunteer_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."volunteer_tasks"("id") ON DELETE set null ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_hours" ADD CONSTRAINT "volunteer_hours_community_id_org_units_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_hours" ADD CONSTRAINT "volunteer_hours_confirmed_by_people_id_fk" FOREIGN KEY ("confirmed_by") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_profiles" ADD CONSTRAINT "volunteer_profiles_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_profiles" ADD CONSTRAINT "volunteer_profiles_community_id_org_units_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_signups" ADD CONSTRAINT "volunteer_signups_task_id_volunteer_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."volunteer_tasks"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_signups" ADD CONSTRAINT "volunteer_signups_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_tasks" ADD CONSTRAINT "volunteer_tasks_community_id_org_units_id_fk" FOREIGN KEY ("community_id") REFERENCES "public"."org_units"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "volunteer_tasks" ADD CONSTRAINT "volunteer_tasks_organiser_id_people_id_fk" FOREIGN KEY ("organiser_id") REFERENCES "public"."people"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "visit_logs_roster_idx" ON "visit_logs" USING btree ("roster_id","visited_at");
--> statement-breakpoint
CREATE INDEX "visit_rosters_community_idx" ON "visit_rosters" USING btree ("community_id");
--> statement-breakpoint
CREATE INDEX "volunteer_hours_person_idx" ON "volunteer_hours" USING btree ("person_id","served_at");
--> statement-breakpoint
CREATE INDEX "volunteer_hours_community_idx" ON "volunteer_hours" USING btree ("community_id","served_at");
--> statement-breakpoint
CREATE INDEX "volunteer_profiles_community_idx" ON "volunteer_profiles" USING btree ("community_id");
--> statement-breakpoint
CREATE INDEX "volunteer_signups_person_idx" ON "volunteer_signups" USING btree ("person_id");
--> statement-breakpoint
CREATE INDEX "volunteer_tasks_community_idx" ON "volunteer_tasks" USING btree ("community_id","starts_at");
