-- 候补人数: how many sign-ups of a session are waiting, kept on the session row so a sign-up's place
-- in line is read in O(1) under the session lock (src/activities/seat-claim.ts). Counting the
-- waiting rows instead cost a claim 0.3-0.5 ms with 1,100-1,500 waiting (most of the claim), on
-- the lock every sign-up of the session queues for. The count is kept by statement triggers, not
-- by each command: every path that changes a sign-up's status (claims, cancellations, offers,
-- expiries, erasure, the end-of-term deletion of minors' sign-ups) keeps it right without knowing.
ALTER TABLE "activity_sessions" ADD COLUMN "waiting" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "activity_sessions" s SET "waiting" = (SELECT count(*) FROM "activity_signups" g WHERE g."session_id" = s."id" AND g."status" = 'waiting');--> statement-breakpoint
ALTER TABLE "activity_sessions" ADD CONSTRAINT "activity_sessions_waiting" CHECK ("waiting" >= 0);--> statement-breakpoint
CREATE FUNCTION "activity_sessions_count_waiting"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Transition tables exist per event: each branch reads only those of its own (plpgsql plans a
  -- statement when it first runs it). Statements that change no waiting count write nothing.
  IF TG_OP = 'INSERT' THEN
    UPDATE activity_sessions s SET waiting = s.waiting + d.delta
    FROM (SELECT session_id, count(*)::int AS delta FROM new_rows WHERE status = 'waiting' GROUP BY session_id) d
    WHERE s.id = d.session_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE activity_sessions s SET waiting = s.waiting - d.delta
    FROM (SELECT session_id, count(*)::int AS delta FROM old_rows WHERE status = 'waiting' GROUP BY session_id) d
    WHERE s.id = d.session_id;
  ELSE
    UPDATE activity_sessions s SET waiting = s.waiting + d.delta
    FROM (
      SELECT session_id, sum(delta)::int AS delta FROM (
        SELECT session_id, 1 AS delta FROM new_rows WHERE status = 'waiting'
        UNION ALL
        SELECT session_id, -1 FROM old_rows WHERE status = 'waiting'
      ) x GROUP BY session_id HAVING sum(delta) <> 0
    ) d
    WHERE s.id = d.session_id;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "activity_signups_waiting_insert" AFTER INSERT ON "activity_signups" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_sessions_count_waiting"();--> statement-breakpoint
CREATE TRIGGER "activity_signups_waiting_update" AFTER UPDATE ON "activity_signups" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_sessions_count_waiting"();--> statement-breakpoint
CREATE TRIGGER "activity_signups_waiting_delete" AFTER DELETE ON "activity_signups" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "activity_sessions_count_waiting"();
