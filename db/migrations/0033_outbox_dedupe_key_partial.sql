-- Only rows that carry a dedupe key (fan-out pages, consultation results) are in the unique index
-- on it. Every other outbox row (replies, cards, sign-up messages: nearly all of them) put a NULL
-- entry there that nothing ever finds: one more index insert per row, 64 bytes of WAL of the
-- 1,346 a sign-up wrote (pg_waldump of a claim of 4), and all of them on the index's last page,
-- where concurrent writers meet. The ON CONFLICT clauses name the predicate (src/outbox/outbox.ts
-- ON_DEDUPE_CONFLICT) so PostgreSQL still infers this index as their arbiter.
CREATE UNIQUE INDEX "outbox_dedupe_key_present" ON "outbox" USING btree ("dedupe_key") WHERE "dedupe_key" IS NOT NULL;--> statement-breakpoint
DROP INDEX "outbox_dedupe_key";--> statement-breakpoint
ALTER INDEX "outbox_dedupe_key_present" RENAME TO "outbox_dedupe_key";
