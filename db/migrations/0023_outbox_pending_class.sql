-- A broadcast delivery takes other chats' pending rows of its channel and class along
-- (src/outbox/claim.ts): found by this index, not by walking every row ever sent.
CREATE INDEX IF NOT EXISTS "outbox_pending_class_idx" ON "outbox" USING btree ("channel","priority","id") WHERE "outbox"."status" = 'pending';
