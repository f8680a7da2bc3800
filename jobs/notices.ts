import { and, inArray, isNull, lt } from 'drizzle-orm';
import { z } from 'zod';
import { notices } from '../db/schema/index.js';
import { currentWave, releaseScheduled } from '../src/notices/commands.js';
import { fanOutNotice } from '../src/notices/fanout.js';
import { followUpIn, NOTICE_FANOUT_JOB, NOTICE_RELEASE_TIMER } from '../src/notices/follow.js';
import type { TimerHandler } from '../src/timers/timers.js';
import { defineJob, type JobServices } from './define.js';

/**
 * Notice jobs on the registry: the fan-out of a wave (a job), the release of a scheduled notice
 * (a timer, kind `notice-release`, src/notices/follow.ts), and the sweep behind the fan-outs (the
 * database is the source of truth: a lost job is found again from the notice row, a lost
 * release wake-up by the timer sweep).
 */

/** 应急 fan-outs jump the queue of other fan-outs (BullMQ priority, lower first). */
const FANOUT_PRIORITY = { emergency: 1, broadcast: 5 } as const;

/** Notices younger than this are still on their way (commit → job). */
export const NOTICE_GRACE_MS = 10_000;

type Services = Omit<JobServices, 'timerHandlers'>;
const quietOf = (s: Services) => ({ hours: s.config.notices.quietHours, timeZone: s.config.notices.timeZone });

export const noticeFanoutJob = defineJob({
  ...NOTICE_FANOUT_JOB,
  /** Deterministic: the same wave queued twice is one job. */
  id: (p) => `nf-${p.noticeId}-${p.wave < 0 ? 'w' : p.wave}`,
  optionsFor: (p) => ({ priority: FANOUT_PRIORITY[p.priority ?? 'broadcast'] }),
  concurrency: 2,
  handler: (s) => {
    const fanDeps = { database: s.database, delivery: s.delivery, logger: s.logger, pageSize: s.config.notices.fanoutPage, quiet: quietOf(s) };
    return ({ noticeId, wave }) => fanOutNotice(fanDeps, noticeId, wave);
  },
});

/** 定时发送: the notice's time came; released (idempotent: one no longer scheduled is left alone), its fan-out after commit. */
export const noticeReleaseTimer = (s: Services): TimerHandler => ({
  kind: NOTICE_RELEASE_TIMER,
  async fire(uow, timer) {
    await followUpIn(uow, await releaseScheduled(uow.tx, timer.subjectId, new Date(), quietOf(s)));
    return 'done';
  },
});

/**
 * Restarts fan-outs that did not finish (a job lost with Redis, a worker killed mid-way).
 * Idempotent: the fan-out writes nothing twice. Scheduled notices are timers: the one timer
 * sweep releases those whose wake-up was lost (migration 0014 turned waiting ones into timers).
 */
export async function sweepNotices(s: Pick<Services, 'database' | 'work'>, now = new Date()): Promise<{ resumed: number }> {
  const unfinished = await s.database.db
    .select({ id: notices.id, status: notices.status, revision: notices.revision, category: notices.category })
    .from(notices)
    .where(and(inArray(notices.status, ['sending', 'corrected', 'withdrawn']), isNull(notices.fanoutDoneAt), lt(notices.updatedAt, new Date(now.getTime() - NOTICE_GRACE_MS))))
    .limit(100);
  if (unfinished.length) {
    await s.work.run(async (uow) => {
      for (const n of unfinished) await followUpIn(uow, { kind: 'fan_out', noticeId: n.id, wave: currentWave(n), priority: n.category === 'emergency' ? 'emergency' : 'broadcast' });
    });
  }
  return { resumed: unfinished.length };
}

export const noticeSweepJob = defineJob({
  name: 'notice-sweep',
  payload: z.object({}).passthrough(),
  every: (s) => s.sweeps.cases,
  handler: (s) => async () => sweepNotices(s),
});
