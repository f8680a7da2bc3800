-- 定时开始: a consultation may be scheduled to open at a set time. The draft keeps the time here (what
-- staff see); the opening itself is a row in `timers` (kind `consultation-open`), so the one timer
-- sweep opens it even when its Redis wake-up was lost. A vote cannot close before it opens.
ALTER TABLE "consultations" ADD COLUMN "opens_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "consultations" ADD CONSTRAINT "consultations_opens_before_closes_check" CHECK ("opens_at" IS NULL OR "opens_at" < "closes_at");
