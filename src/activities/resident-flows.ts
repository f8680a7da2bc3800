import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { activities, activitySessions } from '../../db/schema/index.js';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { localDateTime } from '../org/time.js';
import type { UnitOfWork } from '../work/unit.js';
import { checkIn, rateSession } from './attendance.js';
import { ACTION, cancelButton, MENU, offerChoices, rateButton, signUpButton } from './buttons.js';
import { attempt } from './attempt.js';
import { ActivityError } from './errors.js';
import { comingSessions, mySignups } from './queries.js';
import type { SeatClaims } from './seat-batch.js';
import { cancelSignup, childSchema, confirmOffer, householdMembers, signUp, type ChildInput } from './signups.js';

/** What residents do with 幸福学堂: browse and sign up (for themselves or family), cancel, confirm an offer, check in, rate. */

const resident = (p: PersonView) => p.consented && p.householdStatus === 'bound';
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);
const textOf = (input: InboundPayload) => (input.kind === 'text' ? input.text.trim() : undefined);

/** The step data of 报名 (parsed on every step: dialog state is input too). */
const signupData = z.object({ sessionId: z.uuid(), participantId: z.uuid().optional(), child: childSchema.partial().optional() });
type SignupData = z.infer<typeof signupData>;

/** A chat command whose ActivityError becomes its message (src/activities/attempt.ts). */
export const tryActivity = (ctx: FlowContext, run: (uow: UnitOfWork) => Promise<unknown>): Promise<StepOutcome> =>
  attempt(ctx, run, (err) => (err instanceof ActivityError ? ctx.t.activities[`err_${err.reason}`] : undefined));

const STAR_CHOICES = [5, 4, 3, 2, 1];

export function createResidentActivityFlows(opts: { timeZone: string; seats?: SeatClaims }): Flow[] {
  const tz = opts.timeZone;
  const settings = { timeZone: tz, seats: opts.seats };

  /** 活动报名: what is coming in my area; a press signs up (the action works from anywhere). */
  const browse: Flow = {
    name: 'activities',
    menu: [{ id: MENU.browse, label: (t) => t.activities.menuBrowse, visible: resident, order: 40, section: 'activities' }],
    actions: {
      [ACTION.signUp]: async (_ctx, sessionId) => ({ goto: 'activitySignup', args: { sessionId } }),
      [ACTION.confirmOffer]: async (ctx, signupId) => tryActivity(ctx, (uow) => confirmOffer(uow, signupId, ctx.person.id, ctx.now, settings)),
      [ACTION.declineOffer]: async (ctx, signupId) => tryActivity(ctx, (uow) => cancelSignup(uow, signupId, ctx.person.id, ctx.now, settings)),
      [ACTION.cancel]: async (ctx, signupId) => tryActivity(ctx, (uow) => cancelSignup(uow, signupId, ctx.person.id, ctx.now, settings)),
      [ACTION.rate]: async (ctx, arg) => {
        const [signupId, stars] = arg.split('.');
        return tryActivity(ctx, async (uow) => {
          await rateSession(uow, ctx.person.id, z.uuid().parse(signupId), Number(stars), ctx.now);
          ctx.reply({ text: ctx.t.activities.thanksRating });
        });
      },
    },
    async start(ctx) {
      const t = ctx.t.activities;
      const coming = await comingSessions(ctx.tx, ctx.person.id, ctx.now);
      if (coming.length === 0) {
        ctx.reply({ text: t.browseEmpty });
        return { done: true };
      }
      ctx.reply({
        text: t.browseIntro,
        choices: coming.map((s) => ({
          id: signUpButton(s.sessionId),
          label: t.sessionLine({ when: localDateTime(s.startsAt, tz), title: s.title, free: s.free, mine: s.mine ? t.markMine : '' }).slice(0, 100),
        })),
      });
      return { done: true, silent: true };
    },
    steps: {},
  };

  async function finish(ctx: FlowContext, data: SignupData): Promise<StepOutcome> {
    const child = data.child ? (childSchema.parse(data.child) as ChildInput) : undefined;
    return tryActivity(ctx, (uow) => signUp(uow, { sessionId: data.sessionId, personId: ctx.person.id, participantId: data.participantId, child }, ctx.now, settings));
  }

  async function askChildOrFinish(ctx: FlowContext, data: SignupData): Promise<StepOutcome> {
    const [s] = await ctx.tx.select({ kind: activities.kind }).from(activitySessions).innerJoin(activities, eq(activities.id, activitySessions.activityId)).where(eq(activitySessions.id, data.sessionId));
    if (s?.kind !== 'after_school') return finish(ctx, data);
    ctx.reply({ text: ctx.t.activities.askChild });
    return { next: 'childName', data: { ...data, child: {} } };
  }

  /** 报名: for whom (when the household has others) → 四点半课堂's child and guardian → signed up or waiting. */
  const signup: Flow = {
    name: 'activitySignup',
    async start(ctx, args) {
      const data = signupData.parse({ sessionId: args?.sessionId });
      const t = ctx.t.activities;
      const family = (await householdMembers(ctx.tx, ctx.person.id)).filter((m) => m.id !== ctx.person.id);
      if (family.length === 0) return askChildOrFinish(ctx, data);
      ctx.reply({ text: t.askWho, choices: [{ id: 'aw.me', label: t.forMe }, ...family.slice(0, 8).map((m, i) => ({ id: `aw.${m.id}`, label: t.member({ n: i + 1, name: m.displayName ?? '' }) }))] });
      return { next: 'who', data };
    },
    steps: {
      async who(ctx, input, raw) {
        const data = signupData.parse(raw);
        const choice = choiceOf(input);
        if (!choice?.startsWith('aw.')) return { next: 'who', data };
        const who = choice.slice(3);
        return askChildOrFinish(ctx, { ...data, participantId: who === 'me' ? undefined : z.uuid().parse(who) });
      },
      async childName(ctx, input, raw) {
        const data = signupData.parse(raw);
        const name = textOf(input);
        if (!name || name.length > 20) return { next: 'childName', data };
        ctx.reply({ text: ctx.t.activities.askGrade, choices: [{ id: 'ag.skip', label: ctx.t.activities.skip }] });
        return { next: 'childGrade', data: { ...data, child: { ...data.child, childName: name } } };
      },
      async childGrade(ctx, input, raw) {
        const data = signupData.parse(raw);
        const grade = choiceOf(input) === 'ag.skip' ? undefined : textOf(input)?.slice(0, 20);
        ctx.reply({ text: ctx.t.activities.askGuardian });
        return { next: 'guardian', data: { ...data, child: { ...data.child, childGrade: grade } } };
      },
      async guardian(ctx, input, raw) {
        const data = signupData.parse(raw);
        const name = textOf(input);
        if (!name || name.length > 20) return { next: 'guardian', data };
        ctx.reply({ text: ctx.t.activities.askPhone });
        return { next: 'phone', data: { ...data, child: { ...data.child, guardianName: name } } };
      },
      async phone(ctx, input, raw) {
        const data = signupData.parse(raw);
        const phone = textOf(input);
        if (!phone || !childSchema.shape.guardianPhone.safeParse(phone).success) {
          ctx.reply({ text: ctx.t.activities.badPhone });
          return { next: 'phone', data };
        }
        return finish(ctx, { ...data, child: { ...data.child, guardianPhone: phone } });
      },
    },
  };

  /** 我的报名: each live sign-up with what can be done with it now. */
  const mine: Flow = {
    name: 'myActivities',
    menu: [{ id: MENU.mine, label: (t) => t.activities.menuMine, visible: resident, order: 41, section: 'activities' }],
    async start(ctx) {
      const t = ctx.t.activities;
      const list = await mySignups(ctx.tx, ctx.person.id, ctx.now);
      if (list.length === 0) {
        ctx.reply({ text: t.mineEmpty });
        return { done: true };
      }
      for (const s of list) {
        const status = s.checkedIn ? t.status_came : t[`status_${s.status}`];
        const line = t.mineLine({ when: localDateTime(s.startsAt, tz), title: s.title, status });
        const choices =
          s.status === 'offered'
            ? offerChoices(ctx.t, s.signupId)
            : s.checkedIn
              ? s.rating === null
                ? STAR_CHOICES.map((n) => ({ id: rateButton(s.signupId, n), label: t.stars({ n }) }))
                : undefined
              : s.startsAt > ctx.now
                ? [{ id: cancelButton(s.signupId), label: t.cancelThis({ title: s.title }).slice(0, 100) }]
                : undefined;
        ctx.reply({ text: line, choices });
      }
      return { done: true, silent: true };
    },
    steps: {},
  };

  /** 活动签到: the code shown at the venue → checked in, and the rating question. */
  const checkin: Flow = {
    name: 'activityCheckin',
    menu: [{ id: MENU.checkin, label: (t) => t.activities.menuCheckin, visible: resident, order: 42, section: 'activities' }],
    commands: { words: ['签到', '출석', 'check in', '/checkin'] },
    async start(ctx) {
      ctx.reply({ text: ctx.t.activities.askCode });
      return { next: 'code' };
    },
    steps: {
      async code(ctx, input) {
        const code = textOf(input);
        if (!code) return { next: 'code' };
        return tryActivity(ctx, async (uow) => {
          const t = ctx.t.activities;
          const done = await checkIn(uow, ctx.person.id, code, ctx.now);
          ctx.reply({ text: t.checkedIn({ title: done.title }) });
          ctx.reply({ text: t.askRating({ title: done.title }), choices: STAR_CHOICES.map((n) => ({ id: rateButton(done.signupIds[0]!, n), label: t.stars({ n }) })) });
        });
      },
    },
  };

  return [browse, signup, mine, checkin];
}
