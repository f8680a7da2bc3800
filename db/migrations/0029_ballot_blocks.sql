-- Blocks of the ballot chain (src/consultations/chain.ts): each pass of the linker puts up to a
-- thousand ballots on the chain as one block, whose hash covers every linked field of its rows
-- and the block before. Verification then computes one sha256 per block instead of two per
-- ballot (a million ballots were two million sha256 calls, most of their cost the call, not the
-- bytes); a block that does not match is rechecked row by row to name the first bad ballot.
-- Ballots linked before this migration have no block and are verified row by row as before.
CREATE TABLE "ballot_blocks" (
	"consultation_id" uuid NOT NULL,
	"first_seq" integer NOT NULL,
	"last_seq" integer NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "ballot_blocks_pk" PRIMARY KEY("consultation_id","last_seq"),
	CONSTRAINT "ballot_blocks_range_check" CHECK ("first_seq" >= 1 AND "last_seq" >= "first_seq")
);
--> statement-breakpoint
CREATE FUNCTION "ballot_blocks_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ballot blocks are append-only';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "ballot_blocks_no_change" BEFORE UPDATE OR DELETE ON "ballot_blocks" FOR EACH ROW EXECUTE FUNCTION "ballot_blocks_append_only"();--> statement-breakpoint
-- Every ballot is written unlinked; only its linked version needs a place in the numbering, so the
-- unique index on the number no longer takes an entry (a NULL) for each ballot as it is cast.
DROP INDEX "ballots_seq_key";--> statement-breakpoint
CREATE UNIQUE INDEX "ballots_seq_key" ON "ballots" USING btree ("consultation_id","seq") WHERE "seq" IS NOT NULL;--> statement-breakpoint
-- Nothing looks voters up by household within a consultation except the turnout, which groups all
-- of a consultation's voters and reads them by the primary key as well; the index cost every ballot an entry.
DROP INDEX "consultation_voters_household_idx";
