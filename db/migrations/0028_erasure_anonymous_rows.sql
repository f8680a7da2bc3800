-- 删除我的数据 (src/residents/privacy.ts) keeps the community's records of what happened and drops
-- who it was: a sign-up for a session already held stays in its attendance and ratings, a
-- volunteer's confirmed hours stay in the monthly totals, a roster and its visits stay in the
-- record of care of the person visited. These person columns may therefore be empty.
ALTER TABLE "activity_signups" ALTER COLUMN "person_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "activity_signups" ALTER COLUMN "participant_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "volunteer_hours" ALTER COLUMN "person_id" DROP NOT NULL;--> statement-breakpoint
-- One random key per erased volunteer, community, team and month, so a month's count of
-- volunteers stays right without saying who, and rows of different months cannot be joined.
ALTER TABLE "volunteer_hours" ADD COLUMN "erased_key" uuid;--> statement-breakpoint
ALTER TABLE "visit_rosters" ALTER COLUMN "volunteer_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "visit_logs" ALTER COLUMN "volunteer_id" DROP NOT NULL;
