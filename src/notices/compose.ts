import { and, eq } from 'drizzle-orm';
import { followUpIn } from './follow.js';
import { z } from 'zod';
import { notices } from '../../db/schema/index.js';
import { previewAudience } from '../audience/audience.js';
import { AUDIENCE_GROUPS } from '../audience/groups.js';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { categoryPress, COMPOSE, groupPress, MENU } from './buttons.js';
import { MAX_SCOPES } from '../audience/scopes.js';
import { audienceOf, confirmNotice, createNotice, type NoticeFollowUp } from './commands.js';
import { areaNames, createAreaPicker } from './compose-areas.js';
import { explainRefusal } from './explain.js';
import { deliverFrom, formatLocal, LIMITS, NOTICE_CATEGORIES, parseLocal, type QuietHours } from './rules.js';

export interface NoticeFlowDeps {
  quiet: { hours: QuietHours; timeZone: string };
  /** Stores a photo a staff member sent; its key, or undefined when it could not be stored. */
  savePhoto?(ctx: FlowContext, photo: Extract<InboundPayload, { kind: 'photo' }>): Promise<string | undefined>;
}

/** The typed data each step of 发布通知 keeps (parsed again on every step: dialog state is input too). */
const withScope = z.object({ scopeUnitIds: z.array(z.number().int().positive()).min(1).max(MAX_SCOPES) });
const withCategory = withScope.extend({ category: z.enum(NOTICE_CATEGORIES) });
const withGroup = withCategory.extend({ groups: z.array(z.enum(AUDIENCE_GROUPS)) });
const withTitle = withGroup.extend({ title: z.string() });
const withBody = withTitle.extend({ body: z.string() });
const withPhoto = withBody.extend({ photoKey: z.string().optional() });
const withTime = withPhoto.extend({ sendAt: z.number().int().optional() });
const drafted = withTime.extend({ noticeId: z.uuid() });

const isStaff = (p: PersonView) => p.consented && p.staff.some((s) => !s.onLeave);
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);

/** 发布通知: areas (one or more) → category → group → title → text → photo → when → preview → confirm. */
export function createComposeFlow(deps: NoticeFlowDeps): Flow {
  const tz = deps.quiet.timeZone;
  const example = (ctx: FlowContext) => formatLocal(new Date(ctx.now.getTime() + 86_400_000), tz).slice(0, 11) + '09:00';

  async function askCategory(ctx: FlowContext, data: z.infer<typeof withScope>): Promise<StepOutcome> {
    const t = ctx.t.notices;
    ctx.reply({ text: t.pickCategory, choices: NOTICE_CATEGORIES.map((c) => ({ id: COMPOSE.category(c), label: t[`category_${c}`] })) });
    return { next: 'category', data };
  }

  async function askGroup(ctx: FlowContext, data: z.infer<typeof withCategory>): Promise<StepOutcome> {
    const t = ctx.t.notices;
    ctx.reply({ text: t.pickGroup, choices: [{ id: COMPOSE.group('all'), label: t.everyone }, ...AUDIENCE_GROUPS.map((g) => ({ id: COMPOSE.group(g), label: t[`group_${g}`] }))] });
    return { next: 'group', data };
  }

  const askText = (ctx: FlowContext, what: 'title' | 'body', data: object): StepOutcome => {
    const t = ctx.t.notices;
    ctx.reply({ text: what === 'title' ? t.askTitle({ max: LIMITS.title }) : t.askBody({ max: LIMITS.body }) });
    return { next: what, data: data as Record<string, unknown> };
  };

  const readText = (ctx: FlowContext, input: InboundPayload, max: number): string | undefined => {
    if (input.kind !== 'text' || input.text.trim().length < 2) return undefined;
    if (input.text.trim().length > max) {
      ctx.reply({ text: ctx.t.notices.tooLong({ max }) });
      return undefined;
    }
    return input.text.trim();
  };

  async function askWhen(ctx: FlowContext, data: z.infer<typeof withPhoto>): Promise<StepOutcome> {
    const t = ctx.t.notices;
    ctx.reply({ text: t.askWhen, choices: [{ id: COMPOSE.now, label: t.now }, { id: COMPOSE.later, label: t.later }] });
    return { next: 'when', data };
  }

  /** Writes the draft (checked against staff scope) and shows who it will reach. */
  async function preview(ctx: FlowContext, data: z.infer<typeof withTime>): Promise<StepOutcome> {
    const t = ctx.t.notices;
    let noticeId: string;
    try {
      const notice = await createNotice(
        ctx.tx,
        ctx.person.id,
        { title: data.title, body: data.body, photoKey: data.photoKey, category: data.category, scopeUnitIds: data.scopeUnitIds, groups: data.groups, sendAt: data.sendAt ? new Date(data.sendAt) : undefined },
        ctx.now,
      );
      noticeId = notice.id;
    } catch (err) {
      return explainRefusal(ctx, err);
    }
    const p = await previewAudience(ctx.tx, audienceOf({ category: data.category, groups: data.groups }, data.scopeUnitIds));
    const area = await areaNames(ctx, data.scopeUnitIds);
    const at = data.sendAt ? new Date(data.sendAt) : ctx.now;
    const from = deliverFrom(at, data.category, deps.quiet.hours, tz);
    const when = `${data.sendAt ? formatLocal(at, tz) : t.whenNow}${from.getTime() > at.getTime() ? t.quietNote({ time: formatLocal(from, tz) }) : ''}`;
    ctx.reply({
      text: t.preview({
        title: data.title,
        category: t[`category_${data.category}`],
        area: data.groups.length ? `${area} · ${data.groups.map((g) => t[`group_${g}`]).join('、')}` : area,
        when,
        people: p.people,
        reachable: p.reachable,
        ...p.byChannel,
        ...p.unreachable,
        muted: p.muted,
      }),
      choices: [{ id: COMPOSE.send, label: t.confirmSend }, { id: COMPOSE.cancel, label: t.cancel }],
    });
    return { next: 'confirm', data: { ...data, noticeId, reachable: p.reachable } };
  }

  const areas = createAreaPicker((ctx, scopeUnitIds) => askCategory(ctx, { scopeUnitIds }));

  return {
    name: 'noticeCompose',
    menu: [{ id: MENU.compose, label: (t) => t.notices.menuCompose, visible: isStaff, order: 60, section: 'manage' }],
    commands: { words: ['/notice', '发通知', '发布通知', '공지', 'notice'] },
    // The web chat takes an upload only at a step that asks for one.
    photoSteps: ['photo'],
    start: areas.start,
    steps: {
      ...areas.steps,
      async category(ctx, input, raw) {
        const data = withScope.parse(raw);
        const press = categoryPress.safeParse(choiceOf(input));
        return press.success ? askGroup(ctx, { ...data, category: press.data }) : askCategory(ctx, data);
      },
      async group(ctx, input, raw) {
        const data = withCategory.parse(raw);
        const press = groupPress.safeParse(choiceOf(input));
        if (!press.success) return askGroup(ctx, data);
        return askText(ctx, 'title', { ...data, groups: press.data === 'all' ? [] : [press.data] });
      },
      async title(ctx, input, raw) {
        const data = withGroup.parse(raw);
        const title = readText(ctx, input, LIMITS.title);
        return title ? askText(ctx, 'body', { ...data, title }) : askText(ctx, 'title', data);
      },
      async body(ctx, input, raw) {
        const data = withTitle.parse(raw);
        const body = readText(ctx, input, LIMITS.body);
        if (!body) return askText(ctx, 'body', data);
        if (!deps.savePhoto) return askWhen(ctx, { ...data, body });
        ctx.reply({ text: ctx.t.notices.askPhoto, choices: [{ id: COMPOSE.skip, label: ctx.t.notices.skip }] });
        return { next: 'photo', data: { ...data, body } };
      },
      async photo(ctx, input, raw) {
        const data = withBody.parse(raw);
        if (input.kind === 'photo' && deps.savePhoto) {
          const key = await deps.savePhoto(ctx, input);
          if (key) return askWhen(ctx, { ...data, photoKey: key });
        }
        if (choiceOf(input) === COMPOSE.skip) return askWhen(ctx, data);
        ctx.reply({ text: ctx.t.notices.askPhoto, choices: [{ id: COMPOSE.skip, label: ctx.t.notices.skip }] });
        return { next: 'photo', data };
      },
      async when(ctx, input, raw) {
        const data = withPhoto.parse(raw);
        if (choiceOf(input) === COMPOSE.now) return preview(ctx, data);
        if (choiceOf(input) === COMPOSE.later) {
          ctx.reply({ text: ctx.t.notices.askTime({ example: example(ctx) }) });
          return { next: 'time', data };
        }
        return askWhen(ctx, data);
      },
      async time(ctx, input, raw) {
        const data = withPhoto.parse(raw);
        const at = input.kind === 'text' ? parseLocal(input.text, tz) : undefined;
        if (!at || at.getTime() <= ctx.now.getTime()) {
          ctx.reply({ text: ctx.t.notices.badTime({ example: example(ctx) }) });
          return { next: 'time', data };
        }
        return preview(ctx, { ...data, sendAt: at.getTime() });
      },
      async confirm(ctx, input, raw) {
        const data = drafted.extend({ reachable: z.number().int() }).parse(raw);
        const t = ctx.t.notices;
        if (choiceOf(input) === COMPOSE.cancel) {
          await ctx.tx.delete(notices).where(and(eq(notices.id, data.noticeId), eq(notices.status, 'draft')));
          ctx.reply({ text: t.cancelled });
          return { done: true };
        }
        if (choiceOf(input) !== COMPOSE.send) {
          ctx.reply({ text: t.confirmSend, choices: [{ id: COMPOSE.send, label: t.confirmSend }, { id: COMPOSE.cancel, label: t.cancel }] });
          return { next: 'confirm', data };
        }
        let follow: NoticeFollowUp;
        try {
          follow = await confirmNotice(ctx.tx, ctx.person.id, data.noticeId, ctx.now, deps.quiet);
        } catch (err) {
          return explainRefusal(ctx, err);
        }
        await followUpIn(ctx.uow, follow);
        ctx.reply({ text: follow.kind === 'release_at' ? t.scheduled({ time: formatLocal(follow.at, tz) }) : t.sent({ reachable: data.reachable }) });
        return { done: true };
      },
    },
  };
}
