import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { activities, activitySessions, activitySignups, people } from '../../db/schema/index.js';
import type { Queryable } from '../../db/client.js';
import { anyOf } from '../../db/sql.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import type { Choice } from '../dialog/reply.js';
import { localDateTime } from '../org/time.js';
import { maskPhone } from '../residents/privacy.js';
import { reachRoots, scopedAssignments } from '../staff/scope.js';
import { markAttendance, repeatedNoShows, sessionReport } from './attendance.js';
import { tryActivity } from './resident-flows.js';
import { MANAGE, manageButton, MENU } from './buttons.js';
import { serviceCoverage } from './coverage.js';
import { ActivityError } from './errors.js';
import { childrenOf } from './minors.js';
import { mustOrganise } from './organisers.js';
import { REPEATED_NO_SHOWS } from './rules.js';

/**
 * 活动管理 (organisers, in chat): what the CLI's `activity report / children / attend / coverage`
 * give, where organisers work. An activity's sessions (seats, offers, waiting, who came, rating,
 * check-in code) and its repeated no-shows; one session's roster with 人工签到 for someone who
 * came without a phone; a 四点半课堂's children and guardians (phones masked, each look audited,
 * organisers only: src/activities/minors.ts); 服务进社区 coverage of the person's area. Every
 * action re-checks that the person still organises the activity (mustOrganise), because a
 * button pressed later may outlive a transfer.
 */

const isStaff = (p: PersonView) => p.consented && p.staff.some((s) => !s.onLeave);
const LIST_LIMIT = 10;
/** Telegram shows up to 100 buttons; a roster keeps room for a readable screen. */
const ROSTER_BUTTONS = 30;
const uuid = z.uuid();

/** The activities this person organises: coming ones first (soonest first), then the latest past ones. */
async function organisedBy(db: Queryable, personId: string, now: Date) {
  return (await db.execute(sql`
    select * from (
      select a.id, a.kind, a.title,
        (select min(s.starts_at) from activity_sessions s where s.activity_id = a.id and s.ends_at > ${now.toISOString()}::timestamptz) as next,
        (select max(s.starts_at) from activity_sessions s where s.activity_id = a.id) as last
      from activities a join activity_organisers o on o.activity_id = a.id and o.person_id = ${personId}) x
    order by x.next is null, x.next, x.last desc nulls last
    limit ${LIST_LIMIT}`)) as unknown as { id: string; kind: string; title: string; next: string | null; last: string | null }[];
}

const shown = (ctx: FlowContext) => (err: unknown) => (err instanceof ActivityError ? ctx.t.activities[`err_${err.reason}`] : undefined);

/** Runs a read-only look; an ActivityError becomes its message. */
async function look(ctx: FlowContext, run: () => Promise<void>): Promise<StepOutcome> {
  try {
    await run();
  } catch (err) {
    const text = shown(ctx)(err);
    if (text === undefined) throw err;
    ctx.reply({ text });
  }
  return { done: true, silent: true };
}

export function createActivityManageFlow(opts: { timeZone: string }): Flow {
  const tz = opts.timeZone;
  const when = (at: Date | string) => localDateTime(new Date(at), tz);

  async function showActivity(ctx: FlowContext, raw: string): Promise<StepOutcome> {
    return look(ctx, async () => {
      const t = ctx.t.activityStaff;
      const id = uuid.safeParse(raw);
      if (!id.success) throw new ActivityError('not_found');
      await mustOrganise(ctx.tx, id.data, ctx.person.id);
      const [a] = await ctx.tx.select({ kind: activities.kind, title: activities.title }).from(activities).where(eq(activities.id, id.data));
      if (!a) throw new ActivityError('not_found');
      const sessions = await sessionReport(ctx.tx, ctx.person.id, id.data);
      const noShows = await repeatedNoShows(ctx.tx, ctx.person.id, id.data, ctx.now);
      const names = await namesOf(ctx.tx, noShows.map((n) => n.participantId));
      const lines = [
        t.head({ kind: ctx.t.activities[`kind_${a.kind}`], title: a.title }),
        ...sessions.map((s) => t.session({ n: s.position, when: when(s.startsAt), confirmed: s.confirmed, capacity: s.capacity, offered: s.offered, waiting: s.waiting, came: s.came, rating: s.rating === null ? '-' : String(s.rating), code: s.checkinCode })),
        noShows.length ? t.noShows({ min: REPEATED_NO_SHOWS, list: noShows.map((n) => `${names.get(n.participantId) ?? t.unnamed} ×${n.noShows}`).join('，') }) : t.noNoShows,
      ];
      // Rosters for the sessions around now: the coming ones and the one just held.
      const around = sessions.filter((s) => s.startsAt.getTime() > ctx.now.getTime() - 7 * 86_400_000).slice(0, 8);
      const choices: Choice[] = around.map((s) => ({ id: manageButton('roster', s.sessionId), label: t.rosterButton({ n: s.position, when: when(s.startsAt) }) }));
      if (a.kind === 'after_school') choices.push({ id: manageButton('children', id.data), label: t.childrenButton });
      await ctx.audit('activity.report.view', 'activity', id.data);
      ctx.reply({ text: lines.join('\n'), ...(choices.length && { choices }) });
    });
  }

  async function showRoster(ctx: FlowContext, raw: string): Promise<StepOutcome> {
    return look(ctx, async () => {
      const t = ctx.t.activityStaff;
      const id = uuid.safeParse(raw);
      if (!id.success) throw new ActivityError('not_found');
      const [s] = await ctx.tx.select().from(activitySessions).where(eq(activitySessions.id, id.data));
      if (!s) throw new ActivityError('not_found');
      await mustOrganise(ctx.tx, s.activityId, ctx.person.id);
      const rows = await ctx.tx
        .select({ signupId: activitySignups.id, name: people.displayName, checkedInAt: activitySignups.checkedInAt })
        .from(activitySignups)
        .leftJoin(people, eq(people.id, activitySignups.participantId))
        .where(and(eq(activitySignups.sessionId, s.id), eq(activitySignups.status, 'confirmed')))
        .orderBy(asc(activitySignups.arrival));
      await ctx.audit('activity.roster.view', 'activity_session', s.id, { rows: rows.length });
      if (rows.length === 0) {
        ctx.reply({ text: t.rosterEmpty });
        return;
      }
      const name = (r: (typeof rows)[number]) => r.name ?? t.unnamed;
      const came = rows.filter((r) => r.checkedInAt).length;
      const text = [t.rosterHead({ n: s.position, when: when(s.startsAt), code: s.checkinCode, came, confirmed: rows.length }), ...rows.map((r) => t.rosterLine({ name: name(r), came: r.checkedInAt !== null }))].join('\n');
      const absent = rows.filter((r) => !r.checkedInAt).slice(0, ROSTER_BUTTONS);
      ctx.reply({ text, ...(absent.length && { choices: absent.map((r) => ({ id: manageButton('present', r.signupId), label: t.markPresent({ name: name(r) }).slice(0, 60) })) }) });
    });
  }

  async function markPresent(ctx: FlowContext, raw: string): Promise<StepOutcome> {
    const id = uuid.safeParse(raw);
    if (!id.success) {
      ctx.reply({ text: ctx.t.activities.err_not_found });
      return { done: true, silent: true };
    }
    return tryActivity(ctx, async (uow) => {
      await markAttendance(uow, ctx.person.id, id.data, true, ctx.now);
      const [r] = await uow.tx.select({ name: people.displayName }).from(activitySignups).leftJoin(people, eq(people.id, activitySignups.participantId)).where(eq(activitySignups.id, id.data));
      ctx.reply({ text: ctx.t.activityStaff.markedPresent({ name: r?.name ?? ctx.t.activityStaff.unnamed }) });
    });
  }

  async function showChildren(ctx: FlowContext, raw: string): Promise<StepOutcome> {
    return look(ctx, async () => {
      const t = ctx.t.activityStaff;
      const id = uuid.safeParse(raw);
      if (!id.success) throw new ActivityError('not_found');
      await mustOrganise(ctx.tx, id.data, ctx.person.id);
      const [a] = await ctx.tx.select({ kind: activities.kind }).from(activities).where(eq(activities.id, id.data));
      if (a?.kind !== 'after_school') {
        ctx.reply({ text: t.notAfterSchool });
        return;
      }
      // childrenOf checks the organiser again and writes the audit row (activity.minors.view).
      const rows = await childrenOf(ctx.tx, ctx.person.id, id.data);
      if (rows.length === 0) {
        ctx.reply({ text: t.childrenNone });
        return;
      }
      ctx.reply({
        text: [t.childrenHead, ...rows.map((r) => t.child({ n: r.session, child: r.childName, grade: r.childGrade ?? '', guardian: r.guardianName, phone: maskPhone(r.guardianPhone), status: t[`status_${r.status}`] }))].join('\n'),
      });
    });
  }

  async function showCoverage(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.activityStaff;
    const roots = reachRoots(await scopedAssignments(ctx.tx, ctx.person.id));
    const cells = (await Promise.all(roots.map((r) => serviceCoverage(ctx.tx, r.id, ctx.now, tz)))).flat();
    if (cells.length === 0) {
      ctx.reply({ text: t.coverageNone });
      return { done: true, silent: true };
    }
    const year = new Intl.DateTimeFormat('en', { timeZone: tz, year: 'numeric' }).format(ctx.now);
    const lines = cells.map((c) => t.coverageLine({ community: c.community, line: ctx.t.activities[`line_${c.line}`], held: c.held, aim: c.aim }) + (c.met ? '' : t.coverageBelow));
    ctx.reply({ text: [t.coverageHead({ year }), ...lines].join('\n') });
    return { done: true, silent: true };
  }

  return {
    name: 'activityManage',
    menu: [{ id: MENU.manage, label: (t) => t.activityStaff.menuManage, visible: isStaff, order: 63, section: 'manage' }],
    actions: {
      [MANAGE.show]: showActivity,
      [MANAGE.roster]: showRoster,
      [MANAGE.present]: markPresent,
      [MANAGE.children]: showChildren,
      [MANAGE.coverage]: (ctx) => showCoverage(ctx),
    },
    async start(ctx) {
      const t = ctx.t.activityStaff;
      const list = await organisedBy(ctx.tx, ctx.person.id, ctx.now);
      const coverageChoice = { id: manageButton('coverage', 'mine'), label: t.coverageButton };
      if (list.length === 0) {
        ctx.reply({ text: t.empty, choices: [coverageChoice] });
        return { done: true, silent: true };
      }
      ctx.reply({
        text: t.intro,
        choices: [
          ...list.map((a) => ({ id: manageButton('show', a.id), label: t.item({ kind: ctx.t.activities[`kind_${a.kind as 'other'}`], title: a.title, next: a.next ? when(a.next) : '' }).slice(0, 100) })),
          coverageChoice,
        ],
      });
      return { done: true, silent: true };
    },
    steps: {},
  };
}

/** Display names of participants (an erased person has none). */
async function namesOf(db: Queryable, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.select({ id: people.id, name: people.displayName }).from(people).where(anyOf(people.id, ids));
  return new Map(rows.filter((r) => r.name).map((r) => [r.id, r.name!]));
}
