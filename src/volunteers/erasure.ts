import { and, asc, eq, gt, inArray, or, sql } from 'drizzle-orm';
import { visitLogs, visitRosters, volunteerProfiles, volunteerSignups, volunteerTasks } from '../../db/schema/index.js';
import type { Messages } from '../i18n/index.js';
import { mentionsPhoneSql, namedIn, type ErasedPerson } from '../residents/traces.js';
import type { UnitOfWork } from '../work/unit.js';
import { withdrawFromTask } from './tasks.js';
import { communityLeads, VISIT_DUE_TIMER } from './visits.js';

/**
 * 删除我的数据, the volunteers' part (called by erasePerson, src/residents/privacy.ts).
 * - Open sign-ups for tasks ahead are withdrawn as the volunteer would (`withdrawFromTask` frees
 *   the slot); then every sign-up row goes (its key is the person). A task already started keeps
 *   its `taken`: the slots that were filled.
 * - 志愿服务时长: each ledger row keeps its hours, team, community and time, so community and team
 *   totals still add up; the person is replaced by a random key shared by their rows of one
 *   community, team and local month only, so a month's count of volunteers stays right and
 *   nothing joins their rows across months.
 * - 巡访: a roster they serve is ended and loses its volunteer, and the community's secretary and
 *   director are told the visits stopped (the person visited still needs someone). A roster
 *   whose 走访对象 names them (their phone, or their name or home in their own community) is
 *   ended and its visitee redacted. The visits stay as the community's record of care, their
 *   notes redacted: the notes they wrote, and every note about them.
 * - The profile (skills, availability, team, 在职党员报到 and its work unit) is deleted.
 * Kept: tasks they organised and hours they confirmed (`organiser_id`, `confirmed_by`) and rosters
 * they set up as staff (`created_by`), all not null: the community's record, pointing at the
 * emptied person row.
 */
export async function eraseVolunteerRecords(uow: UnitOfWork, who: ErasedPerson, now: Date, redactedText: string, timeZone: string): Promise<void> {
  const tx = uow.tx;
  const open = await tx
    .select({ taskId: volunteerSignups.taskId })
    .from(volunteerSignups)
    .innerJoin(volunteerTasks, eq(volunteerTasks.id, volunteerSignups.taskId))
    .where(and(eq(volunteerSignups.personId, who.id), eq(volunteerSignups.status, 'signed'), gt(volunteerTasks.startsAt, now)))
    .orderBy(asc(volunteerSignups.taskId));
  for (const s of open) await withdrawFromTask(uow, who.id, s.taskId, now);
  await tx.delete(volunteerSignups).where(eq(volunteerSignups.personId, who.id));

  await tx.execute(sql`
    with mine as (
      select id, community_id, team, to_char(served_at at time zone ${timeZone}, 'YYYY-MM') as month from volunteer_hours where person_id = ${who.id}
    ), keys as (
      select community_id, team, month, gen_random_uuid() as key from mine group by community_id, team, month
    )
    update volunteer_hours h set person_id = null, erased_key = k.key
    from mine m join keys k on k.community_id = m.community_id and k.team is not distinct from m.team and k.month = m.month
    where h.id = m.id`);

  const served = await tx.select({ id: visitRosters.id, communityId: visitRosters.communityId, visitee: visitRosters.visitee, active: visitRosters.active }).from(visitRosters).where(eq(visitRosters.volunteerId, who.id));
  await tx.update(visitRosters).set({ active: false, volunteerId: null }).where(eq(visitRosters.volunteerId, who.id));
  // Someone is still to be visited: the community hears that these visits stopped, so it can send someone else.
  for (const r of served.filter((s) => s.active)) {
    const leads = await communityLeads(tx, r.communityId);
    await uow.notifyAll(leads.map((l) => ({ personId: l.personId, build: (t: Messages) => ({ text: t.volunteers.visitVolunteerGone({ visitee: r.visitee }) }) })));
  }
  await tx.update(visitLogs).set({ volunteerId: null, note: redactedText }).where(eq(visitLogs.volunteerId, who.id));
  // No key links a roster to the person visited: the visitee is text staff typed. A phone counts
  // anywhere, a name or a home only in their own community (two people may share a name).
  const candidates = await tx
    .select({ id: visitRosters.id, visitee: visitRosters.visitee, communityId: visitRosters.communityId })
    .from(visitRosters)
    .where(
      or(
        who.communityId === null ? sql`false` : eq(visitRosters.communityId, who.communityId),
        mentionsPhoneSql(visitRosters.visitee, who.phone),
      ),
    );
  const about = candidates.filter((r) => namedIn(r.visitee, who, { name: r.communityId === who.communityId, home: r.communityId === who.communityId })).map((r) => r.id);
  if (about.length) {
    await tx.update(visitRosters).set({ active: false, visitee: redactedText }).where(inArray(visitRosters.id, about));
    await tx.update(visitLogs).set({ note: redactedText }).where(inArray(visitLogs.rosterId, about));
  }
  for (const r of [...served, ...about.map((id) => ({ id }))]) await uow.timers.cancel({ kind: VISIT_DUE_TIMER, subjectId: r.id });
  await tx.delete(volunteerProfiles).where(eq(volunteerProfiles.personId, who.id));
}
