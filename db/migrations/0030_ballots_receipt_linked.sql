-- A receipt is looked up only in a published consultation (src/consultations/commands.ts
-- findReceipt), whose ballots closing has all linked. Linking rewrites each ballot row (seq,
-- prev_hash, hash), which writes a new entry in every index anyway, so the entry the receipt
-- index took for the unlinked row as it was cast was never read: a write (and ~110 bytes of WAL)
-- on every ballot's hot path. As with ballots_seq_key (migration 0029), only linked rows have one.
DROP INDEX "ballots_receipt_idx";--> statement-breakpoint
CREATE INDEX "ballots_receipt_idx" ON "ballots" USING btree ("consultation_id","receipt") WHERE "seq" IS NOT NULL;
