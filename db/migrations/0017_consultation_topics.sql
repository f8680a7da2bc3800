-- 议题征集: topics residents propose in a community, one support per person, comments.
CREATE TABLE "consultation_topics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"community_id" integer NOT NULL REFERENCES "org_units"("id"),
	"author_id" uuid REFERENCES "people"("id") ON DELETE set null,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"answer" text,
	"answered_by" uuid REFERENCES "people"("id"),
	"consultation_id" uuid REFERENCES "consultations"("id"),
	"supports" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consultation_topics_status_check" CHECK ("status" IN ('open', 'answered', 'adopted', 'declined'))
);
--> statement-breakpoint
CREATE INDEX "consultation_topics_rank_idx" ON "consultation_topics" USING btree ("community_id", "status", "supports");--> statement-breakpoint
CREATE TABLE "topic_supports" (
	"topic_id" bigint NOT NULL REFERENCES "consultation_topics"("id") ON DELETE cascade,
	"person_id" uuid NOT NULL REFERENCES "people"("id") ON DELETE cascade,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "topic_supports_pk" PRIMARY KEY ("topic_id", "person_id")
);
--> statement-breakpoint
CREATE TABLE "topic_comments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"topic_id" bigint NOT NULL REFERENCES "consultation_topics"("id") ON DELETE cascade,
	"person_id" uuid REFERENCES "people"("id") ON DELETE set null,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "topic_comments_topic_idx" ON "topic_comments" USING btree ("topic_id", "id");--> statement-breakpoint
ALTER TABLE "consultations" ADD CONSTRAINT "consultations_topic_fk" FOREIGN KEY ("topic_id") REFERENCES "consultation_topics"("id");
