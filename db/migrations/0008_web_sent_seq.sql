ALTER TABLE "outbox" ADD COLUMN "sent_seq" bigint;--> statement-breakpoint
CREATE INDEX "outbox_web_sent_idx" ON "outbox" USING btree ("chat_ref","sent_seq") WHERE "outbox"."channel" = 'web' and "outbox"."sent_seq" is not null;--> statement-breakpoint
-- Rows already sent keep their id as their place; new ones are numbered above every id.
CREATE SEQUENCE "outbox_sent_seq";--> statement-breakpoint
UPDATE "outbox" SET "sent_seq" = "id" WHERE "status" = 'sent';--> statement-breakpoint
SELECT setval('outbox_sent_seq', greatest((SELECT max("id") FROM "outbox"), 1));--> statement-breakpoint
CREATE FUNCTION "outbox_stamp_sent_seq"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.sent_seq := nextval('outbox_sent_seq');
  RETURN NEW;
END $$;--> statement-breakpoint
-- One chat's rows are marked sent one at a time (the deliver job holds the chat's lock and
-- commits each mark before the next send), so within a chat this order is the commit order.
CREATE TRIGGER "outbox_sent_seq" BEFORE UPDATE OF "status" ON "outbox"
  FOR EACH ROW WHEN (NEW.status = 'sent' AND OLD.status IS DISTINCT FROM 'sent')
  EXECUTE FUNCTION "outbox_stamp_sent_seq"();
