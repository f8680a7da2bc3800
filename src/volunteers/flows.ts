import { z } from 'zod';
import type { InboundPayload } from '../dialog/events.js';
import { actionId, type Flow, type FlowContext, type StepOutcome } from '../dialog/flow.js';
import { attempt } from '../activities/attempt.js';
import { localDateTime } from '../org/time.js';
import type { UnitOfWork } from '../work/unit.js';
import { VolunteerError } from './errors.js';
import { ledger } from './hours.js';
import { getProfile } from './profile.js';
import { fittingTasks, signUpForTask, withdrawFromTask } from './tasks.js';
import { logVisit, myRosters, visitNoteSchema } from './visits.js';

/** Every button id of the volunteer flows. */
export const VOLUNTEER_MENU = 'menu.volunteer';
const PICK = { tasks: 'vm.tasks', ledger: 'vm.ledger', visits: 'vm.visits' } as const;
/** Actions: toggle my sign-up for a task; log a visit of a roster. */
const ACTION = { task: 'vt', visit: 'vv' } as const;

const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);

/** A chat command whose VolunteerError becomes its message (src/activities/attempt.ts). */
export const tryVolunteer = (ctx: FlowContext, run: (uow: UnitOfWork) => Promise<unknown>) =>
  attempt(ctx, run, (err) => (err instanceof VolunteerError ? ctx.t.volunteers[`err_${err.reason}`] : undefined));

/** 志愿服务 in chat: tasks that fit (sign up / withdraw), my hours ledger, my 巡访 with a visit log. */
export function createVolunteerFlows(opts: { timeZone: string }): Flow[] {
  const tz = opts.timeZone;

  async function showTasks(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.volunteers;
    const tasks = await fittingTasks(ctx.tx, ctx.person.id, ctx.now);
    if (tasks.length === 0) {
      ctx.reply({ text: t.tasksEmpty });
      return { done: true };
    }
    ctx.reply({
      text: t.tasksIntro,
      choices: tasks.map((k) => ({ id: actionId(ACTION.task, k.id), label: t.taskLine({ when: localDateTime(k.startsAt, tz), title: k.title, place: k.place, free: k.slots - k.taken, mine: k.mine ? t.markSigned : '' }).slice(0, 100) })),
    });
    return { done: true, silent: true };
  }

  async function showLedger(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.volunteers;
    const l = await ledger(ctx.tx, ctx.person.id, 10);
    ctx.reply({ text: l.rows.length ? [t.ledgerHead({ total: l.total }), ...l.rows.map((r) => t.ledgerLine({ date: localDateTime(r.servedAt, tz), title: r.title ?? '', hours: r.hours }))].join('\n') : t.ledgerEmpty });
    return { done: true };
  }

  async function showVisits(ctx: FlowContext): Promise<StepOutcome> {
    const t = ctx.t.volunteers;
    const rosters = await myRosters(ctx.tx, ctx.person.id);
    if (rosters.length === 0) {
      ctx.reply({ text: t.visitsEmpty });
      return { done: true };
    }
    ctx.reply({ text: t.visitsIntro, choices: rosters.slice(0, 10).map((r) => ({ id: actionId(ACTION.visit, r.id), label: t.visitLine({ visitee: r.visitee, due: localDateTime(r.nextDueAt, tz) }).slice(0, 100) })) });
    return { done: true, silent: true };
  }

  const volunteer: Flow = {
    name: 'volunteer',
    menu: [{ id: VOLUNTEER_MENU, label: (t) => t.volunteers.menu, visible: (p) => p.consented, order: 45 }],
    actions: {
      [ACTION.task]: async (ctx, taskId) =>
        tryVolunteer(ctx, async (uow) => {
          const t = ctx.t.volunteers;
          const mine = (await fittingTasks(uow.tx, ctx.person.id, ctx.now)).find((k) => k.id === taskId)?.mine;
          const task = mine ? await withdrawFromTask(uow, ctx.person.id, taskId, ctx.now) : await signUpForTask(uow, ctx.person.id, taskId, ctx.now);
          ctx.reply({ text: mine ? t.withdrawn({ title: task.title }) : t.signedUp({ title: task.title, when: localDateTime(task.startsAt, tz), place: task.place }) });
        }),
      [ACTION.visit]: async (_ctx, rosterId) => ({ goto: 'volunteerVisit', args: { rosterId } }),
    },
    async start(ctx) {
      const t = ctx.t.volunteers;
      if (!(await getProfile(ctx.tx, ctx.person.id))) {
        ctx.reply({ text: t.noProfile });
        return { done: true };
      }
      ctx.reply({ text: t.menu, choices: [{ id: PICK.tasks, label: t.menuTasks }, { id: PICK.ledger, label: t.menuLedger }, { id: PICK.visits, label: t.menuVisits }] });
      return { next: 'pick' };
    },
    steps: {
      async pick(ctx, input) {
        const c = choiceOf(input);
        if (c === PICK.tasks) return showTasks(ctx);
        if (c === PICK.ledger) return showLedger(ctx);
        if (c === PICK.visits) return showVisits(ctx);
        return { next: 'pick' };
      },
    },
  };

  /** 巡访记录: a short note for one visit. */
  const visit: Flow = {
    name: 'volunteerVisit',
    async start(ctx, args) {
      ctx.reply({ text: ctx.t.volunteers.askNote });
      return { next: 'note', data: { rosterId: z.uuid().parse(args?.rosterId) } };
    },
    steps: {
      async note(ctx, input, raw) {
        const { rosterId } = z.object({ rosterId: z.uuid() }).parse(raw);
        const note = visitNoteSchema.safeParse(input.kind === 'text' ? input.text : '');
        if (!note.success) return { next: 'note', data: { rosterId } };
        return tryVolunteer(ctx, async (uow) => {
          await logVisit(uow, ctx.person.id, rosterId, note.data, ctx.now);
          ctx.reply({ text: ctx.t.volunteers.visitLogged });
        });
      },
    },
  };

  return [volunteer, visit];
}
