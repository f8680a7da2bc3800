import { and, asc, inArray, isNull, lt, lte, eq } from 'drizzle-orm';
import { z } from 'zod';
import { notices } from '../db/schema/index.js';
import type { Database } from '../db/client.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/log.js';
import { currentWave, releaseScheduled, type NoticeFollowUp } from '../src/notices/commands.js';
import { fanOutNotice } from '../src/notices/fanout.js';
import type { DeliveryQueue } from '../src/outbox/outbox.js';
import { queueRegistry, type QueueBackend } from './backend.js';
import { defaultJobOptions, parseJob } from './queues.js';
import type { ProcessorRegistration } from './workers.js';

/**
 * Notice jobs: the fan-out of a wave, the release of a scheduled notice, and the sweep behind
 * both (the database is the source of truth: a lost job is found again from the notice row).
 */
export const NOTICE_QUEUES = { fanout: 'notice-fanout', release: 'notice-release', sweep: 'notice-sweep' } as const;

export const noticeJobSchemas = {
  fanout: z.object({ noticeId: z.uuid(), wave: z.number().int().min(-1).max(1000) }).strict(),
  release: z.object({ noticeId: z.uuid(), at: z.number().int().positive() }).strict(),
};

/** Deterministic ids: the same wave or the same release time queued twice is one job. */
export const noticeJobIds = {
  fanout: (noticeId: string, wave: number) => `nf-${noticeId}-${wave < 0 ? 'w' : wave}`,
  release: (noticeId: string, at: Date) => `nrel-${noticeId}-${at.getTime()}`,
};

/** 应急 fan-outs jump the queue of other fan-outs (BullMQ priority, lower first). */
const FANOUT_PRIORITY = { emergency: 1, broadcast: 5 } as const;

export interface NoticeJobs {
  followUp(f: NoticeFollowUp): Promise<void>;
  close(): Promise<void>;
}

export function createNoticeJobs(backend: QueueBackend): NoticeJobs {
  const queues = queueRegistry(backend, defaultJobOptions);
  return {
    async followUp(f) {
      if (f.kind === 'fan_out') {
        await queues.get(NOTICE_QUEUES.fanout).add('fanout', { noticeId: f.noticeId, wave: f.wave }, { jobId: noticeJobIds.fanout(f.noticeId, f.wave), priority: FANOUT_PRIORITY[f.priority] });
      } else if (f.kind === 'release_at') {
        const delay = Math.max(0, f.at.getTime() - Date.now());
        await queues.get(NOTICE_QUEUES.release).add('release', { noticeId: f.noticeId, at: f.at.getTime() }, { jobId: noticeJobIds.release(f.noticeId, f.at), delay });
      }
    },
    close: () => queues.close(),
  };
}

export interface NoticeJobDeps {
  database: Database;
  delivery: DeliveryQueue;
  jobs: NoticeJobs;
  config: Config;
  logger: Logger;
  sweepEveryMs: number;
  now?: () => Date;
}

/** Notices younger than this are still on their way (commit → job). */
export const NOTICE_GRACE_MS = 10_000;

/**
 * Releases scheduled notices whose time came and restarts fan-outs that did not finish (a job
 * lost with Redis, a worker killed mid-way). Idempotent: the fan-out writes nothing twice.
 */
export async function sweepNotices(deps: Omit<NoticeJobDeps, 'sweepEveryMs'>): Promise<{ released: number; resumed: number }> {
  const now = (deps.now ?? (() => new Date()))();
  const quiet = { hours: deps.config.notices.quietHours, timeZone: deps.config.notices.timeZone };
  const due = await deps.database.db
    .select({ id: notices.id })
    .from(notices)
    .where(and(eq(notices.status, 'scheduled'), lte(notices.sendAt, now)))
    .orderBy(asc(notices.sendAt))
    .limit(100);
  for (const { id } of due) {
    const follow = await deps.database.db.transaction((tx) => releaseScheduled(tx, id, now, quiet));
    await deps.jobs.followUp(follow);
  }
  const unfinished = await deps.database.db
    .select({ id: notices.id, status: notices.status, revision: notices.revision, category: notices.category })
    .from(notices)
    .where(and(inArray(notices.status, ['sending', 'corrected', 'withdrawn']), isNull(notices.fanoutDoneAt), lt(notices.updatedAt, new Date(now.getTime() - NOTICE_GRACE_MS))))
    .limit(100);
  for (const n of unfinished) {
    await deps.jobs.followUp({ kind: 'fan_out', noticeId: n.id, wave: currentWave(n), priority: n.category === 'emergency' ? 'emergency' : 'broadcast' });
  }
  return { released: due.length, resumed: unfinished.length };
}

export function noticeProcessors(deps: NoticeJobDeps): ProcessorRegistration[] {
  const quiet = { hours: deps.config.notices.quietHours, timeZone: deps.config.notices.timeZone };
  const fanDeps = { database: deps.database, delivery: deps.delivery, logger: deps.logger, pageSize: deps.config.notices.fanoutPage, quiet, now: deps.now };
  return [
    {
      queue: NOTICE_QUEUES.fanout,
      concurrency: 2,
      process: async (job) => {
        const { noticeId, wave } = parseJob(noticeJobSchemas.fanout, job, 'notice fan-out');
        return fanOutNotice(fanDeps, noticeId, wave);
      },
    },
    {
      queue: NOTICE_QUEUES.release,
      concurrency: 4,
      process: async (job) => {
        const { noticeId } = parseJob(noticeJobSchemas.release, job, 'notice release');
        const now = (deps.now ?? (() => new Date()))();
        const follow = await deps.database.db.transaction((tx) => releaseScheduled(tx, noticeId, now, quiet));
        await deps.jobs.followUp(follow);
        return follow.kind;
      },
    },
    { queue: NOTICE_QUEUES.sweep, concurrency: 1, every: deps.sweepEveryMs, process: () => sweepNotices(deps) },
  ];
}
