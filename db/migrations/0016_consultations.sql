-- 社区协商: consultations (votes), their scopes, who took part, the hash-chained ballot log, proxies, age declarations.
CREATE TABLE "consultations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"author_id" uuid NOT NULL REFERENCES "people"("id"),
	"title" text NOT NULL,
	"background" text NOT NULL,
	"options" text[] NOT NULL,
	"multiple" boolean DEFAULT false NOT NULL,
	"max_choices" smallint DEFAULT 1 NOT NULL,
	"basis" text NOT NULL,
	"rule" text NOT NULL,
	"quorum_pct" smallint DEFAULT 50 NOT NULL,
	"majority_pct" smallint DEFAULT 50 NOT NULL,
	"weighty" boolean DEFAULT false NOT NULL,
	"secret" boolean DEFAULT true NOT NULL,
	"show_names" boolean DEFAULT false NOT NULL,
	"changeable" boolean DEFAULT true NOT NULL,
	"early_close" boolean DEFAULT false NOT NULL,
	"closes_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"opened_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"close_reason" text,
	"published_at" timestamp with time zone,
	"eligible" jsonb,
	"result" jsonb,
	"ballot_seq" integer DEFAULT 0 NOT NULL,
	"chain_head" text DEFAULT '' NOT NULL,
	"notice_id" uuid REFERENCES "notices"("id"),
	"result_notice_id" uuid REFERENCES "notices"("id"),
	"topic_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consultations_basis_check" CHECK ("basis" IN ('adults', 'households', 'owners')),
	CONSTRAINT "consultations_rule_check" CHECK ("rule" IN ('simple_majority', 'quorum_majority', 'civil_code_278')),
	CONSTRAINT "consultations_status_check" CHECK ("status" IN ('draft', 'open', 'closed', 'published')),
	CONSTRAINT "consultations_choices_check" CHECK ("max_choices" >= 1 AND "max_choices" <= cardinality("options") AND ("multiple" OR "max_choices" = 1)),
	CONSTRAINT "consultations_278_owners_check" CHECK ("rule" <> 'civil_code_278' OR "basis" = 'owners')
);
--> statement-breakpoint
CREATE INDEX "consultations_status_idx" ON "consultations" USING btree ("status", "closes_at");--> statement-breakpoint
CREATE TABLE "consultation_scopes" (
	"consultation_id" uuid NOT NULL REFERENCES "consultations"("id") ON DELETE cascade,
	"org_unit_id" integer NOT NULL REFERENCES "org_units"("id"),
	CONSTRAINT "consultation_scopes_pk" PRIMARY KEY ("consultation_id", "org_unit_id")
);
--> statement-breakpoint
CREATE INDEX "consultation_scopes_unit_idx" ON "consultation_scopes" USING btree ("org_unit_id");--> statement-breakpoint
CREATE TABLE "consultation_proxies" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"consultation_id" uuid NOT NULL REFERENCES "consultations"("id"),
	"household_id" integer NOT NULL REFERENCES "org_units"("id"),
	"grantor" text NOT NULL,
	"proxy" text NOT NULL,
	"document_ref" text NOT NULL,
	"recorded_by" uuid REFERENCES "people"("id"),
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "consultation_proxies_household_key" ON "consultation_proxies" USING btree ("consultation_id", "household_id");--> statement-breakpoint
-- One row per voter (person for adults, household otherwise): the one-per-voter rule across chat, paper and proxy.
CREATE TABLE "consultation_voters" (
	"consultation_id" uuid NOT NULL REFERENCES "consultations"("id"),
	"voter_key" text NOT NULL,
	"via" text NOT NULL,
	"person_id" uuid REFERENCES "people"("id") ON DELETE set null,
	"household_id" integer REFERENCES "org_units"("id"),
	"weight" integer DEFAULT 0 NOT NULL,
	"proxy_id" bigint REFERENCES "consultation_proxies"("id"),
	"voter_token" text,
	"first_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consultation_voters_pk" PRIMARY KEY ("consultation_id", "voter_key"),
	CONSTRAINT "consultation_voters_via_check" CHECK ("via" IN ('chat', 'paper', 'proxy'))
);
--> statement-breakpoint
CREATE INDEX "consultation_voters_household_idx" ON "consultation_voters" USING btree ("consultation_id", "household_id");--> statement-breakpoint
-- The ballot log: append-only. A ballot is written at once with its content hash (its receipt);
-- the linker then puts it on the consultation's hash chain (seq, prev_hash, hash), filled once.
CREATE TABLE "ballots" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"consultation_id" uuid NOT NULL REFERENCES "consultations"("id"),
	"voter_token" text NOT NULL,
	"choices" smallint[] NOT NULL,
	"weight" integer DEFAULT 0 NOT NULL,
	"via" text NOT NULL,
	"replaces_id" bigint,
	"cast_at" timestamp with time zone NOT NULL,
	"nonce" text NOT NULL,
	"content_hash" text NOT NULL,
	"receipt" text NOT NULL,
	"seq" integer,
	"prev_hash" text,
	"hash" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "ballots_seq_key" ON "ballots" USING btree ("consultation_id", "seq");--> statement-breakpoint
CREATE INDEX "ballots_voter_idx" ON "ballots" USING btree ("consultation_id", "voter_token", "id");--> statement-breakpoint
CREATE INDEX "ballots_receipt_idx" ON "ballots" USING btree ("consultation_id", "receipt");--> statement-breakpoint
CREATE INDEX "ballots_replaces_idx" ON "ballots" USING btree ("consultation_id", "replaces_id") WHERE "replaces_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "ballots_unlinked_idx" ON "ballots" USING btree ("consultation_id", "id") WHERE "seq" IS NULL;--> statement-breakpoint
CREATE FUNCTION "ballots_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- The one change allowed: linking an unlinked ballot into the chain, its content untouched.
	IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
		AND (NEW.id, NEW.consultation_id, NEW.voter_token, NEW.choices, NEW.weight, NEW.via, NEW.replaces_id, NEW.cast_at, NEW.nonce, NEW.content_hash, NEW.receipt)
			IS NOT DISTINCT FROM (OLD.id, OLD.consultation_id, OLD.voter_token, OLD.choices, OLD.weight, OLD.via, OLD.replaces_id, OLD.cast_at, OLD.nonce, OLD.content_hash, OLD.receipt) THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'ballots are append-only';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "ballots_no_change" BEFORE UPDATE OR DELETE ON "ballots" FOR EACH ROW EXECUTE FUNCTION "ballots_append_only"();--> statement-breakpoint
-- 年满18周岁: asked once when a person first votes in an adults' consultation; no birth date is kept.
CREATE TABLE "adult_declarations" (
	"person_id" uuid PRIMARY KEY NOT NULL REFERENCES "people"("id") ON DELETE cascade,
	"adult" boolean NOT NULL,
	"declared_at" timestamp with time zone DEFAULT now() NOT NULL
);
