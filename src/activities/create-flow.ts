import { z } from 'zod';
import { AUDIENCE_GROUPS } from '../audience/groups.js';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { formatLocal, parseLocal } from '../notices/rules.js';
import { ancestorOfKind, getUnit } from '../org/tree.js';
import { reachRoots, scopedAssignments } from '../staff/scope.js';
import { MENU } from './buttons.js';
import { createActivity, type ActivityInput, type ActivitySettings } from './create.js';
import { ACTIVITY_KINDS, expandSeries, MAX_SESSIONS, SERVICE_LINES, signupWindowProblem } from './rules.js';
import { tryActivity } from './resident-flows.js';

/** Step buttons of 发布活动 (one registry: built and parsed here). */
const CREATE = {
  kind: (k: (typeof ACTIVITY_KINDS)[number]) => `ak.${k}`,
  line: (l: (typeof SERVICE_LINES)[number]) => `al.${l}`,
  group: (g: (typeof AUDIENCE_GROUPS)[number]) => `ag.${g}`,
  groupsDone: 'ag.done',
  skip: 'ak.skip',
  once: 'ak.once',
  weekly: 'ak.weekly',
  /** How long each session runs, in minutes (DURATIONS). */
  duration: (minutes: number) => `ae.${minutes}`,
  /** 报名时间: now … the start (the default), or times staff type. */
  signupDefault: 'aq.default',
  signupSet: 'aq.set',
  signupNow: 'aq.now',
  signupUntilStart: 'aq.start',
  publish: 'ak.publish',
  cancel: 'ak.cancel',
} as const;
const groupPress = z.templateLiteral(['ag.', z.enum(AUDIENCE_GROUPS)]).transform((s) => s.slice(3) as (typeof AUDIENCE_GROUPS)[number]);
const linePress = z.templateLiteral(['al.', z.enum(SERVICE_LINES)]).transform((s) => s.slice(3) as (typeof SERVICE_LINES)[number]);
const kindPress = z.templateLiteral(['ak.', z.enum(ACTIVITY_KINDS)]).transform((s) => s.slice(3) as (typeof ACTIVITY_KINDS)[number]);

/** A session runs 10 minutes to 12 hours (as a series' schedule allows). */
const MIN_MINUTES = 10;
const MAX_MINUTES = 12 * 60;

/** The step data (parsed again on every step). */
const draft = z.object({
  communityId: z.number().int().positive(),
  scopeUnitId: z.number().int().positive(),
  kind: z.enum(ACTIVITY_KINDS).optional(),
  line: z.enum(SERVICE_LINES).optional(),
  title: z.string().optional(),
  topic: z.string().optional(),
  speaker: z.string().optional(),
  venue: z.string().optional(),
  weekly: z.boolean().optional(),
  startsAt: z.number().int().optional(),
  /** Set at the length step; unset only in drafts begun before that step existed (they had 90 fixed). */
  durationMinutes: z.number().int().min(MIN_MINUTES).max(MAX_MINUTES).optional(),
  until: z.string().optional(),
  capacity: z.number().int().optional(),
  /** 面向: the groups (elderly, parents …) its announcement goes to; none = everyone in the scope. */
  groups: z.array(z.enum(AUDIENCE_GROUPS)).max(AUDIENCE_GROUPS.length).optional(),
  /** 报名时间 (ms); unset = now … the (last) start. */
  signupOpensAt: z.number().int().optional(),
  signupClosesAt: z.number().int().optional(),
});
type Draft = z.infer<typeof draft>;

const isStaff = (p: PersonView) => p.consented && p.staff.some((s) => !s.onLeave);
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);
const textOf = (input: InboundPayload) => (input.kind === 'text' ? input.text.trim() : undefined);
/** Common session lengths offered as buttons (minutes); any end time may be typed instead. */
const DURATIONS = [60, 90, 120, 180] as const;

/**
 * 发布活动: kind (→ service line) → title → topic → speaker → venue or link → once / weekly → first
 * start → length (or end time) → (term end) → seats → groups → sign-up window (default, or
 * opens → closes) → publish.
 */
export function createActivityCreateFlow(settings: ActivitySettings): Flow {
  const tz = settings.timeZone;
  const example = (ctx: FlowContext, days: number, time = '16:30') => `${formatLocal(new Date(ctx.now.getTime() + days * 86_400_000), tz).slice(0, 10)} ${time}`;

  const ask = (ctx: FlowContext, step: string, text: string, data: Draft, choices?: { id: string; label: string }[]): StepOutcome => {
    ctx.reply({ text, choices });
    return { next: step, data };
  };
  const skippable = (ctx: FlowContext) => [{ id: CREATE.skip, label: ctx.t.activities.skip }];
  const minutesOf = (data: Draft) => data.durationMinutes ?? 90;
  const input = (data: Draft): ActivityInput => {
    const startsAt = new Date(data.startsAt!);
    const local = formatLocal(startsAt, tz);
    const schedule: ActivityInput['schedule'] = data.weekly
      ? { kind: 'series', from: local.slice(0, 10), until: data.until!, weekday: new Date(`${local.slice(0, 10)}T00:00:00Z`).getUTCDay(), time: local.slice(11, 16), durationMinutes: minutesOf(data) }
      : { kind: 'once', startsAt, endsAt: new Date(startsAt.getTime() + minutesOf(data) * 60_000) };
    const online = data.venue && /^https?:\/\//.test(data.venue);
    return {
      kind: data.kind!,
      serviceLine: data.kind === 'service' ? data.line : undefined,
      title: data.title!,
      topic: data.topic,
      speaker: data.speaker,
      venue: online ? undefined : data.venue,
      link: online ? data.venue : undefined,
      communityId: data.communityId,
      scopeUnitIds: [data.scopeUnitId],
      capacity: data.capacity!,
      groups: data.groups ?? [],
      schedule,
      signupOpensAt: data.signupOpensAt === undefined ? undefined : new Date(data.signupOpensAt),
      signupClosesAt: data.signupClosesAt === undefined ? undefined : new Date(data.signupClosesAt),
    };
  };
  /** The sessions the draft makes: their number and the last start (where sign-ups close at the latest). */
  const sessionsOf = (data: Draft) => {
    const schedule = input(data).schedule;
    const starts = schedule.kind === 'series' ? expandSeries({ ...schedule, capacity: data.capacity ?? 1, timeZone: tz }).slice(0, MAX_SESSIONS).map((d) => d.startsAt) : [new Date(data.startsAt!)];
    return { count: starts.length, lastStart: starts[starts.length - 1] ?? new Date(data.startsAt!) };
  };

  /** Who it is for: toggles (✓ on what is picked), then done; nothing picked = everyone in the area. */
  const groupsLine = (ctx: FlowContext, data: Draft) =>
    ctx.t.activities.createGroupsPicked({ groups: data.groups?.length ? data.groups.map((g) => ctx.t.notices[`group_${g}`]).join('、') : ctx.t.activities.groupsEveryone });
  const askGroups = (ctx: FlowContext, data: Draft) =>
    ask(ctx, 'groups', `${ctx.t.activities.createGroups}\n${groupsLine(ctx, data)}`, data, [
      ...AUDIENCE_GROUPS.map((g) => ({ id: CREATE.group(g), label: `${data.groups?.includes(g) ? '✓ ' : ''}${ctx.t.notices[`group_${g}`]}` })),
      { id: CREATE.groupsDone, label: ctx.t.activities.groupsDone },
    ]);

  const askEnd = (ctx: FlowContext, text: string, data: Draft) =>
    ask(ctx, 'end', text, data, DURATIONS.map((m) => ({ id: CREATE.duration(m), label: ctx.t.activities.durationHours({ hours: m / 60 }) })));
  /** What the step after the length asks: the term end for a series, else the seats. */
  const afterEnd = (ctx: FlowContext, data: Draft) =>
    data.weekly ? ask(ctx, 'until', ctx.t.activities.createUntil({ example: example(ctx, 120).slice(0, 10) }), data) : ask(ctx, 'capacity', ctx.t.activities.createCapacity, data);
  const askOpens = (ctx: FlowContext, text: string, data: Draft) =>
    ask(ctx, 'opens', text, data, [{ id: CREATE.signupNow, label: ctx.t.activities.signupNow }]);
  const askCloses = (ctx: FlowContext, text: string, data: Draft) =>
    ask(ctx, 'closes', text, data, [{ id: CREATE.signupUntilStart, label: ctx.t.activities.signupUntilStart }]);
  /** A typed time, or the button that stands for one; undefined when it is neither. */
  const timeOf = (inp: InboundPayload, button: string, fallback: Date) => (choiceOf(inp) === button ? fallback : parseLocal(textOf(inp) ?? '', tz));
  const askConfirm = (ctx: FlowContext, data: Draft) => {
    const t = ctx.t.activities;
    const { count, lastStart } = sessionsOf(data);
    const start = new Date(data.startsAt!);
    const end = formatLocal(new Date(start.getTime() + minutesOf(data) * 60_000), tz);
    const from = formatLocal(start, tz);
    const when = `${from}–${end.slice(0, 10) === from.slice(0, 10) ? end.slice(11) : end}`;
    const signup = t.createSignupLine({ opens: data.signupOpensAt === undefined ? t.signupNow : formatLocal(new Date(data.signupOpensAt), tz), closes: formatLocal(new Date(data.signupClosesAt ?? lastStart.getTime()), tz) });
    return ask(ctx, 'confirm', [t.createConfirm({ kind: t[`kind_${data.kind!}`], title: data.title!, when, sessions: count, capacity: data.capacity! }), groupsLine(ctx, data), signup].join('\n'), data, [
      { id: CREATE.publish, label: t.publish },
      { id: CREATE.cancel, label: t.cancel },
    ]);
  };

  return {
    name: 'activityCreate',
    menu: [{ id: MENU.create, label: (t) => t.activities.menuCreate, visible: isStaff, order: 62, section: 'manage' }],
    commands: { words: ['/activity', '发布活动', '행사 등록'] },
    async start(ctx) {
      const t = ctx.t.activities;
      const root = reachRoots(await scopedAssignments(ctx.tx, ctx.person.id))[0];
      const unit = root ? await getUnit(ctx.tx, root.id) : undefined;
      const community = unit ? await ancestorOfKind(ctx.tx, unit, 'community') : undefined;
      if (!unit || !community) {
        ctx.reply({ text: root ? t.err_not_community : t.err_not_staff });
        return { done: true };
      }
      return ask(ctx, 'kind', t.createKind, { communityId: community.id, scopeUnitId: unit.id }, ACTIVITY_KINDS.map((k) => ({ id: CREATE.kind(k), label: t[`kind_${k}`] })));
    },
    steps: {
      async kind(ctx, inp, raw) {
        const data = draft.parse(raw);
        const kind = kindPress.safeParse(choiceOf(inp));
        if (!kind.success) return { next: 'kind', data };
        const t = ctx.t.activities;
        if (kind.data === 'service') return ask(ctx, 'line', t.createLine, { ...data, kind: kind.data }, SERVICE_LINES.map((l) => ({ id: CREATE.line(l), label: t[`line_${l}`] })));
        return ask(ctx, 'title', t.createTitle, { ...data, kind: kind.data });
      },
      async line(ctx, inp, raw) {
        const data = draft.parse(raw);
        const line = linePress.safeParse(choiceOf(inp));
        if (!line.success) return { next: 'line', data };
        return ask(ctx, 'title', ctx.t.activities.createTitle, { ...data, line: line.data });
      },
      async title(ctx, inp, raw) {
        const data = draft.parse(raw);
        const title = textOf(inp);
        if (!title || title.length < 2 || title.length > 60) return { next: 'title', data };
        return ask(ctx, 'topic', ctx.t.activities.createTopic, { ...data, title }, skippable(ctx));
      },
      async topic(ctx, inp, raw) {
        const data = draft.parse(raw);
        const topic = choiceOf(inp) === CREATE.skip ? undefined : textOf(inp)?.slice(0, 30);
        return ask(ctx, 'speaker', ctx.t.activities.createSpeaker, { ...data, topic }, skippable(ctx));
      },
      async speaker(ctx, inp, raw) {
        const data = draft.parse(raw);
        const speaker = choiceOf(inp) === CREATE.skip ? undefined : textOf(inp)?.slice(0, 40);
        return ask(ctx, 'venue', ctx.t.activities.createVenue, { ...data, speaker });
      },
      async venue(ctx, inp, raw) {
        const data = draft.parse(raw);
        const venue = textOf(inp);
        if (!venue || venue.length > 80) return { next: 'venue', data };
        const t = ctx.t.activities;
        return ask(ctx, 'repeat', t.createRepeat, { ...data, venue }, [{ id: CREATE.once, label: t.once }, { id: CREATE.weekly, label: t.weekly }]);
      },
      async repeat(ctx, inp, raw) {
        const data = draft.parse(raw);
        const c = choiceOf(inp);
        if (c !== CREATE.once && c !== CREATE.weekly) return { next: 'repeat', data };
        return ask(ctx, 'when', ctx.t.activities.createWhen({ example: example(ctx, 7) }), { ...data, weekly: c === CREATE.weekly });
      },
      async when(ctx, inp, raw) {
        const data = draft.parse(raw);
        const t = ctx.t.activities;
        const at = parseLocal(textOf(inp) ?? '', tz);
        if (!at || at <= ctx.now) return ask(ctx, 'when', t.badTime, data);
        return askEnd(ctx, t.createEnd({ example: formatLocal(new Date(at.getTime() + 2 * 3600_000), tz).slice(11) }), { ...data, startsAt: at.getTime() });
      },
      async end(ctx, inp, raw) {
        const data = draft.parse(raw);
        const start = new Date(data.startsAt!);
        const pressed = DURATIONS.find((m) => choiceOf(inp) === CREATE.duration(m));
        const typed = textOf(inp) ?? '';
        // An end time on the start's day ("18:00"), or with its date.
        const endsAt = pressed ? undefined : parseLocal(/^\d{1,2}[:：]\d{2}$/.test(typed) ? `${formatLocal(start, tz).slice(0, 10)} ${typed}` : typed, tz);
        const minutes = pressed ?? (endsAt ? Math.round((endsAt.getTime() - start.getTime()) / 60_000) : NaN);
        if (!(minutes >= MIN_MINUTES && minutes <= MAX_MINUTES)) return askEnd(ctx, ctx.t.activities.badEnd, data);
        return afterEnd(ctx, { ...data, durationMinutes: minutes });
      },
      async until(ctx, inp, raw) {
        const data = draft.parse(raw);
        const until = textOf(inp) ?? '';
        if (!/^\d{4}-\d{2}-\d{2}$/.test(until) || until < formatLocal(new Date(data.startsAt!), tz).slice(0, 10)) return ask(ctx, 'until', ctx.t.activities.badTime, data);
        return ask(ctx, 'capacity', ctx.t.activities.createCapacity, { ...data, until });
      },
      async capacity(ctx, inp, raw) {
        const data = draft.parse(raw);
        const n = z.coerce.number().int().min(1).max(10_000).safeParse(textOf(inp));
        if (!n.success) return ask(ctx, 'capacity', ctx.t.activities.badNumber, data);
        return askGroups(ctx, { ...data, capacity: n.data, groups: [] });
      },
      async groups(ctx, inp, raw) {
        const data = draft.parse(raw);
        const picked = new Set(data.groups ?? []);
        const g = groupPress.safeParse(choiceOf(inp));
        if (g.success) {
          if (picked.has(g.data)) picked.delete(g.data);
          else picked.add(g.data);
          return askGroups(ctx, { ...data, groups: AUDIENCE_GROUPS.filter((x) => picked.has(x)) });
        }
        if (choiceOf(inp) !== CREATE.groupsDone) return askGroups(ctx, data);
        const t = ctx.t.activities;
        return ask(ctx, 'signup', t.createSignup, data, [
          { id: CREATE.signupDefault, label: t.signupDefault },
          { id: CREATE.signupSet, label: t.signupSet },
        ]);
      },
      async signup(ctx, inp, raw) {
        const data = draft.parse(raw);
        const c = choiceOf(inp);
        if (c === CREATE.signupDefault) return askConfirm(ctx, { ...data, signupOpensAt: undefined, signupClosesAt: undefined });
        if (c !== CREATE.signupSet) return { next: 'signup', data };
        return askOpens(ctx, ctx.t.activities.createOpens({ example: example(ctx, 1, '09:00') }), data);
      },
      async opens(ctx, inp, raw) {
        const data = draft.parse(raw);
        const t = ctx.t.activities;
        const { lastStart } = sessionsOf(data);
        const opensAt = timeOf(inp, CREATE.signupNow, ctx.now);
        if (!opensAt) return askOpens(ctx, t.badTime, data);
        // Checked against the latest close there can be (the last start): only a late opening fails here.
        const problem = signupWindowProblem({ opensAt, closesAt: lastStart }, lastStart, ctx.now);
        if (problem) return askOpens(ctx, t[`err_${problem}`], data);
        const next = { ...data, signupOpensAt: choiceOf(inp) === CREATE.signupNow ? undefined : opensAt.getTime() };
        return askCloses(ctx, t.createCloses({ example: formatLocal(new Date(lastStart.getTime() - 86_400_000), tz) }), next);
      },
      async closes(ctx, inp, raw) {
        const data = draft.parse(raw);
        const t = ctx.t.activities;
        const { lastStart } = sessionsOf(data);
        const closesAt = timeOf(inp, CREATE.signupUntilStart, lastStart);
        if (!closesAt) return askCloses(ctx, t.badTime, data);
        const problem = signupWindowProblem({ opensAt: new Date(data.signupOpensAt ?? ctx.now.getTime()), closesAt }, lastStart, ctx.now);
        if (problem) return askCloses(ctx, t[`err_${problem}`], data);
        return askConfirm(ctx, { ...data, signupClosesAt: choiceOf(inp) === CREATE.signupUntilStart ? undefined : closesAt.getTime() });
      },
      async confirm(ctx, inp, raw) {
        const data = draft.parse(raw);
        const t = ctx.t.activities;
        const c = choiceOf(inp);
        if (c === CREATE.cancel) {
          ctx.reply({ text: t.dropped });
          return { done: true };
        }
        if (c !== CREATE.publish) return { next: 'confirm', data };
        return tryActivity(ctx, async (uow) => {
          const made = await createActivity(uow, ctx.person.id, input(data), ctx.now, settings);
          ctx.reply({ text: t.created({ sessions: made.sessions.length, code: made.sessions[0]!.checkinCode }) });
        });
      },
    },
  };
}
