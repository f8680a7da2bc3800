import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { volunteerSignups, volunteerTasks } from '../../db/schema/index.js';
import type { Queryable, Tx } from '../../db/client.js';
import { recordAudit } from '../audit/audit.js';
import type { UnitOfWork } from '../work/unit.js';
import { VolunteerError } from './errors.js';
import { getProfile } from './profile.js';
import { fits } from './rules.js';
import { mustReach } from './scope.js';

export const taskSchema = z
  .object({
    communityId: z.number().int().positive(),
    kind: z.enum(['task', 'visit']).default('task'),
    title: z.string().trim().min(2).max(60),
    place: z.string().trim().min(2).max(80),
    startsAt: z.coerce.date(),
    endsAt: z.coerce.date(),
    slots: z.number().int().min(1).max(500),
    skills: z.array(z.string().trim().min(1).max(20)).max(10).default([]),
  })
  .refine((t) => t.endsAt > t.startsAt, { message: 'ends before it starts', path: ['endsAt'] });
export type TaskInput = z.input<typeof taskSchema>;
export type TaskRow = typeof volunteerTasks.$inferSelect;

/** 志愿任务: time, place, slots and the skills it asks for, in a community the organiser reaches. */
export async function createTask(tx: Tx, organiserId: string, input: TaskInput): Promise<TaskRow> {
  const t = taskSchema.parse(input);
  await mustReach(tx, organiserId, t.communityId);
  const [row] = await tx.insert(volunteerTasks).values({ ...t, skills: [...new Set(t.skills)], organiserId }).returning();
  await recordAudit(tx, { actorId: organiserId, action: 'volunteer.task.create', subjectType: 'volunteer_task', subjectId: row!.id });
  return row!;
}

/** Tasks that fit a volunteer: their community, ahead, a slot free, a skill they have (or none asked); with whether they signed up. */
export async function fittingTasks(db: Queryable, personId: string, now: Date, limit = 8): Promise<(TaskRow & { mine: boolean })[]> {
  const profile = await getProfile(db, personId);
  if (!profile) throw new VolunteerError('no_profile');
  const rows = await db
    .select({ task: volunteerTasks, mine: sql<boolean>`exists (select 1 from volunteer_signups s where s.task_id = ${volunteerTasks.id} and s.person_id = ${personId} and s.status = 'signed')` })
    .from(volunteerTasks)
    .where(and(eq(volunteerTasks.communityId, profile.communityId), gt(volunteerTasks.startsAt, now)))
    .orderBy(asc(volunteerTasks.startsAt))
    .limit(limit * 4);
  return rows
    .filter((r) => r.mine || (r.task.taken < r.task.slots && fits(r.task.skills, profile.skills)))
    .slice(0, limit)
    .map((r) => ({ ...r.task, mine: r.mine }));
}

async function lockTask(tx: Tx, taskId: string): Promise<TaskRow> {
  const [row] = await tx.select().from(volunteerTasks).where(eq(volunteerTasks.id, taskId)).for('update');
  if (!row) throw new VolunteerError('not_found');
  return row;
}

/** 报名志愿任务: a slot while one is free (row lock + the slots check), before the start. */
export async function signUpForTask(uow: UnitOfWork, personId: string, taskId: string, now: Date): Promise<TaskRow> {
  if (!(await getProfile(uow.tx, personId))) throw new VolunteerError('no_profile');
  const task = await lockTask(uow.tx, taskId);
  if (task.startsAt <= now) throw new VolunteerError('started');
  const [existing] = await uow.tx.select().from(volunteerSignups).where(and(eq(volunteerSignups.taskId, taskId), eq(volunteerSignups.personId, personId)));
  if (existing?.status === 'signed') return task;
  if (task.taken >= task.slots) throw new VolunteerError('full');
  await uow.tx
    .insert(volunteerSignups)
    .values({ taskId, personId, status: 'signed', createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: [volunteerSignups.taskId, volunteerSignups.personId], set: { status: 'signed', updatedAt: now } });
  await uow.tx.update(volunteerTasks).set({ taken: sql`${volunteerTasks.taken} + 1` }).where(eq(volunteerTasks.id, taskId));
  return task;
}

/** 退出: the slot is freed (before the start). */
export async function withdrawFromTask(uow: UnitOfWork, personId: string, taskId: string, now: Date): Promise<TaskRow> {
  const task = await lockTask(uow.tx, taskId);
  if (task.startsAt <= now) throw new VolunteerError('started');
  const [gone] = await uow.tx
    .update(volunteerSignups)
    .set({ status: 'withdrawn', updatedAt: now })
    .where(and(eq(volunteerSignups.taskId, taskId), eq(volunteerSignups.personId, personId), eq(volunteerSignups.status, 'signed')))
    .returning();
  if (!gone) throw new VolunteerError('not_signed_up');
  await uow.tx.update(volunteerTasks).set({ taken: sql`${volunteerTasks.taken} - 1` }).where(eq(volunteerTasks.id, taskId));
  return task;
}

/** Who signed up for a task (its organiser, or staff reaching its community). */
export async function taskVolunteers(db: Queryable, staffId: string, taskId: string) {
  const [task] = await db.select().from(volunteerTasks).where(eq(volunteerTasks.id, taskId));
  if (!task) throw new VolunteerError('not_found');
  await mustReach(db, staffId, task.communityId);
  return db.select().from(volunteerSignups).where(eq(volunteerSignups.taskId, taskId)).orderBy(volunteerSignups.createdAt);
}
