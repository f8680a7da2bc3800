import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { people, volunteerSignups, volunteerTasks } from '../../db/schema/index.js';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { localDateTime } from '../org/time.js';
import { tryVolunteer } from './flows.js';
import { confirmHours, hoursSchema } from './hours.js';

/** Buttons of 确认志愿时长 (built and parsed here). */
const CONFIRM = { task: (id: string) => `vc.t.${id}`, person: (id: string) => `vc.p.${id}`, next: 'vc.next' } as const;
const taskPress = z.templateLiteral(['vc.t.', z.uuid()]).transform((s) => s.slice(5));
const personPress = z.templateLiteral(['vc.p.', z.uuid()]).transform((s) => s.slice(5));
const data = z.object({ taskId: z.uuid(), came: z.array(z.uuid()) });
type Data = z.infer<typeof data>;

const isStaff = (p: PersonView) => p.consented && p.staff.some((s) => !s.onLeave);
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);

/** 确认志愿时长: the organiser picks one of their tasks, ticks who came, types the hours; the ledger gets a row each. */
export function createConfirmHoursFlow(opts: { timeZone: string }): Flow {
  async function showPeople(ctx: FlowContext, d: Data): Promise<StepOutcome> {
    const t = ctx.t.volunteers;
    const signed = await ctx.tx
      .select({ id: volunteerSignups.personId, name: people.displayName })
      .from(volunteerSignups)
      .innerJoin(people, eq(people.id, volunteerSignups.personId))
      .where(and(eq(volunteerSignups.taskId, d.taskId), eq(volunteerSignups.status, 'signed')))
      .orderBy(asc(volunteerSignups.createdAt))
      .limit(18);
    ctx.reply({
      text: t.confirmWho,
      choices: [
        ...signed.map((s, i) => ({ id: CONFIRM.person(s.id), label: (d.came.includes(s.id) ? t.came : t.notCame)({ name: s.name ?? t.volunteerN({ n: i + 1 }) }) })),
        { id: CONFIRM.next, label: t.next },
      ],
    });
    return { next: 'who', data: d };
  }

  return {
    name: 'volunteerConfirm',
    menu: [{ id: 'menu.volunteerConfirm', label: (t) => t.volunteers.menuConfirm, visible: isStaff, order: 63, section: 'manage' }],
    async start(ctx) {
      const t = ctx.t.volunteers;
      const tasks = await ctx.tx
        .select({ id: volunteerTasks.id, title: volunteerTasks.title, startsAt: volunteerTasks.startsAt })
        .from(volunteerTasks)
        .where(and(eq(volunteerTasks.organiserId, ctx.person.id), gt(volunteerTasks.startsAt, new Date(ctx.now.getTime() - 14 * 86_400_000)), sql`exists (select 1 from volunteer_signups s where s.task_id = ${volunteerTasks.id} and s.status = 'signed')`))
        .orderBy(asc(volunteerTasks.startsAt))
        .limit(10);
      if (tasks.length === 0) {
        ctx.reply({ text: t.confirmNone });
        return { done: true };
      }
      ctx.reply({ text: t.confirmPick, choices: tasks.map((k) => ({ id: CONFIRM.task(k.id), label: `${localDateTime(k.startsAt, opts.timeZone)} ${k.title}`.slice(0, 100) })) });
      return { next: 'task' };
    },
    steps: {
      async task(ctx, input) {
        const taskId = taskPress.safeParse(choiceOf(input));
        if (!taskId.success) return { next: 'task' };
        return showPeople(ctx, { taskId: taskId.data, came: [] });
      },
      async who(ctx, input, raw) {
        const d = data.parse(raw);
        const c = choiceOf(input);
        if (c === CONFIRM.next) {
          if (d.came.length === 0) return showPeople(ctx, d);
          ctx.reply({ text: ctx.t.volunteers.askHours });
          return { next: 'hours', data: d };
        }
        const p = personPress.safeParse(c);
        if (!p.success) return { next: 'who', data: d };
        return showPeople(ctx, { ...d, came: d.came.includes(p.data) ? d.came.filter((x) => x !== p.data) : [...d.came, p.data] });
      },
      async hours(ctx, input, raw) {
        const d = data.parse(raw);
        const hours = hoursSchema.safeParse(Number(input.kind === 'text' ? input.text.trim() : NaN));
        if (!hours.success) {
          ctx.reply({ text: ctx.t.volunteers.askHours });
          return { next: 'hours', data: d };
        }
        return tryVolunteer(ctx, async (uow) => {
          const n = await confirmHours(uow, ctx.person.id, d.taskId, d.came.map((personId) => ({ personId, hours: hours.data })), ctx.now);
          ctx.reply({ text: ctx.t.volunteers.confirmed({ n, hours: hours.data }) });
        });
      },
    },
  };
}
