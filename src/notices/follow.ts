import { z } from 'zod';
import type { JobRef, UnitOfWork } from '../work/unit.js';
import type { NoticeFollowUp } from './commands.js';

/** The notice fan-out job as the core names it; jobs/notices.ts gives it its handler. */
export const NOTICE_FANOUT_JOB = {
  name: 'notice-fanout',
  payload: z.object({ noticeId: z.uuid(), wave: z.number().int().min(-1).max(1000), priority: z.enum(['emergency', 'broadcast']).optional() }).strict(),
} satisfies JobRef<{ noticeId: string; wave: number; priority?: 'emergency' | 'broadcast' }>;

/**
 * 定时发送: a scheduled notice is a timer (kind `notice-release`, subject = notice id) armed in
 * the transaction that scheduled it; the one timer sweep fires it if its wake-up is lost. A notice
 * is scheduled once (a draft is confirmed once), so its seq is always 1.
 */
export const NOTICE_RELEASE_TIMER = 'notice-release';

/** What a committed notice command asks for, in the same unit of work: a fan-out job after commit, or the release timer. */
export async function followUpIn(uow: UnitOfWork, f: NoticeFollowUp): Promise<void> {
  if (f.kind === 'fan_out') uow.enqueue(NOTICE_FANOUT_JOB, { noticeId: f.noticeId, wave: f.wave, priority: f.priority });
  else if (f.kind === 'release_at') await uow.timers.set({ kind: NOTICE_RELEASE_TIMER, subjectId: f.noticeId, seq: 1, dueAt: f.at });
}
