import { eq } from 'drizzle-orm';
import { caseCategories } from '../../db/schema/index.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import { followCase, submitCase } from './intake.js';
import { CaseError } from './record.js';
import { caseDescription, chosenCategory, offerCategories, readDescription } from './input.js';
import type { Priority } from './rules.js';
import { choiceOf, isPhotoProblem, mayReport, photoHow, photoProblemText, type FlowKit, type StoredPhoto } from './flow-kit.js';
import { sameProblem } from './same-problem.js';

type Data = Record<string, unknown>;

/** The parts of a report the confirm step can send the resident back to (修改). */
const EDITABLE = ['category', 'description', 'photos', 'place', 'priority'] as const;
type Editable = (typeof EDITABLE)[number];
const EDIT_LABEL = { category: 'editCategory', description: 'editDescription', photos: 'editPhotos', place: 'editPlace', priority: 'editPriority' } as const;

/**
 * 报事: category → description → photos → place → urgency → (same problem?) → confirm, where the
 * resident can submit, change one part (修改) or cancel (取消). Text typed at the main menu that
 * is not a command starts it with that text as the description.
 */
export function createReportFlow(kit: FlowKit): Flow {
  const { settings, fx, savePhoto, communityOf, label } = kit;

  async function askCategory(ctx: FlowContext, data: Data): Promise<StepOutcome> {
    return (await offerCategories(ctx, Number(data.communityId), 'cat')) ? { next: 'category', data } : { done: true };
  }

  const photoChoices = (t: Messages) => [
    { id: 'rp:done', label: t.cases.done },
    { id: 'rp:skip', label: t.cases.skip },
  ];
  const priorityChoices = (t: Messages) => [
    { id: 'rq:normal', label: t.cases.normal },
    { id: 'rq:urgent', label: t.cases.urgent },
  ];

  function askDescription(ctx: FlowContext, data: Data): StepOutcome {
    ctx.reply({ text: ctx.t.cases.askDescription });
    return { next: 'description', data };
  }
  function askPhotos(ctx: FlowContext, data: Data): StepOutcome {
    const t = ctx.t;
    ctx.reply({ text: `${t.cases.askPhotos({ max: settings.maxPhotos })}\n${photoHow(t, ctx.identity.channel)}`, choices: photoChoices(t) });
    return { next: 'photos', data: { ...data, photos: data.photos ?? [] } };
  }
  function askLocation(ctx: FlowContext, data: Data): StepOutcome {
    const t = ctx.t.cases;
    ctx.reply({ text: t.askLocation, choices: [{ id: 'rl:home', label: t.atMyHome }], requestLocation: true });
    return { next: 'location', data };
  }
  function askPriority(ctx: FlowContext, data: Data): StepOutcome {
    ctx.reply({ text: ctx.t.cases.askPriority, choices: priorityChoices(ctx.t) });
    return { next: 'priority', data };
  }
  /** After a part was changed (修改) straight back to the summary; otherwise on to the next part. */
  const then = (ctx: FlowContext, data: Data, next: (ctx: FlowContext, data: Data) => StepOutcome | Promise<StepOutcome>) =>
    data.editing ? confirm(ctx, { ...data, editing: false }) : next(ctx, data);

  async function confirm(ctx: FlowContext, data: Data): Promise<StepOutcome> {
    const t = ctx.t.cases;
    const [cat] = await ctx.tx.select({ names: caseCategories.names }).from(caseCategories).where(eq(caseCategories.id, Number(data.categoryId)));
    const summary = t.summary({
      category: cat ? label(ctx, cat.names) : '',
      description: String(data.description),
      place: typeof data.locationLabel === 'string' ? data.locationLabel : data.point ? t.placePoint : t.placeHome,
      photos: (data.photos as StoredPhoto[]).length,
      priority: t[`priority_${data.priority as Priority}`],
    });
    ctx.reply({
      text: t.confirm({ summary }),
      choices: [
        { id: 'rc:submit', label: t.submit },
        { id: 'rc:edit', label: ctx.t.report.edit },
        { id: 'rc:cancel', label: ctx.t.report.cancel },
      ],
    });
    return { next: 'confirm', data };
  }

  const report: Flow = {
    name: 'report',
    photoSteps: ['photos'],
    menu: [{ id: 'menu.report', label: (t) => t.cases.menuReport, visible: mayReport, order: 10 }],
    commands: { words: ['/report', '报事', '诉求', '민원', 'report'] },
    async start(ctx, args) {
      const home = await communityOf(ctx);
      if (!home) {
        ctx.reply({ text: ctx.t.cases.needHousehold });
        return { goto: 'household' };
      }
      const description = typeof args?.description === 'string' ? args.description : undefined;
      return askCategory(ctx, { communityId: home.communityId, ...(description ? { description } : {}) });
    },
    /** Typed at the main menu, not a command ("我家楼上漏水了"): offer to report it, that text as the description. */
    async fromIdleText(ctx, text) {
      const parsed = caseDescription.safeParse(text);
      if (!parsed.success || /^\d+$/.test(parsed.data) || !mayReport(ctx.person)) return undefined;
      const r = ctx.t.report;
      ctx.reply({
        text: r.offerReport({ text: parsed.data }),
        choices: [
          { id: 'ro:yes', label: r.offerYes },
          { id: 'ro:no', label: r.offerNo },
        ],
      });
      return { next: 'offer', data: { description: parsed.data } };
    },
    steps: {
      async offer(ctx, input, data) {
        const c = choiceOf(input);
        if (c === 'ro:yes') return report.start(ctx, { description: data.description });
        return { done: true };
      },
      async category(ctx, input, data) {
        const id = await chosenCategory(ctx, input, Number(data.communityId), 'cat');
        if (id === undefined) return askCategory(ctx, data);
        const next = { ...data, categoryId: id };
        return then(ctx, next, (c, d) => (typeof d.description === 'string' ? askPhotos(c, d) : askDescription(c, d)));
      },
      async description(ctx, input, data) {
        const text = readDescription(ctx, input);
        if (text === undefined) return { next: 'description', data };
        return then(ctx, { ...data, description: text }, askPhotos);
      },
      async photos(ctx, input, data) {
        const t = ctx.t.cases;
        const photos = data.photos as StoredPhoto[];
        if (input.kind === 'photo') {
          if (photos.length >= settings.maxPhotos) {
            ctx.reply({ text: t.photoLimit({ max: settings.maxPhotos }), choices: photoChoices(ctx.t) });
            return { next: 'photos', data };
          }
          const stored = await savePhoto(ctx, input);
          if (isPhotoProblem(stored)) {
            ctx.reply({ text: photoProblemText(ctx.t, stored), choices: photoChoices(ctx.t) });
            return { next: 'photos', data };
          }
          const next = [...photos, stored];
          ctx.reply({ text: t.photoSaved({ n: next.length, max: settings.maxPhotos }), choices: photoChoices(ctx.t) });
          return { next: 'photos', data: { ...data, photos: next } };
        }
        const c = choiceOf(input);
        const typed = input.kind === 'text' ? input.text.trim() : '';
        if (c !== 'rp:done' && c !== 'rp:skip' && typed !== t.done && typed !== t.skip) return askPhotos(ctx, data);
        return then(ctx, data, askLocation);
      },
      async location(ctx, input, data) {
        let place: Data;
        if (input.kind === 'location') place = { point: { lat: input.location.lat, lng: input.location.lng }, locationLabel: input.location.label ?? null };
        else if (choiceOf(input) === 'rl:home') place = { point: null, locationLabel: null };
        else if (input.kind === 'text' && input.text.trim().length >= 2) place = { point: null, locationLabel: input.text.trim().slice(0, 200) };
        else return askLocation(ctx, data);
        return then(ctx, { ...data, ...place }, askPriority);
      },
      async priority(ctx, input, data) {
        const t = ctx.t.cases;
        const c = choiceOf(input);
        if (c !== 'rq:normal' && c !== 'rq:urgent') return askPriority(ctx, data);
        const withPriority = { ...data, priority: c === 'rq:urgent' ? 'urgent' : 'normal', editing: false };
        const home = await communityOf(ctx);
        const same = home ? await sameProblem(ctx, home, withPriority) : undefined;
        if (same && !data.sameAsked) {
          ctx.reply({
            text: t.samePrompt({ number: same.number, summary: same.description.slice(0, 40) }),
            choices: [
              { id: 'rs:yes', label: t.sameYes },
              { id: 'rs:no', label: t.sameNo },
            ],
          });
          return { next: 'same', data: { ...withPriority, sameCaseId: same.id, sameNumber: same.number } };
        }
        return confirm(ctx, withPriority);
      },
      async same(ctx, input, data) {
        const c = choiceOf(input);
        if (c === 'rs:yes') {
          try {
            await followCase(ctx.tx, String(data.sameCaseId), ctx.person.id, ctx.now);
          } catch (err) {
            if (!(err instanceof CaseError)) throw err;
            // It closed in the meantime: report this one on its own.
            return confirm(ctx, data);
          }
          ctx.reply({ text: ctx.t.cases.followed({ number: String(data.sameNumber) }) });
          return { done: true };
        }
        if (c === 'rs:no') return confirm(ctx, { ...data, sameAsked: true });
        ctx.reply({
          text: ctx.t.cases.samePrompt({ number: String(data.sameNumber), summary: '' }),
          choices: [
            { id: 'rs:yes', label: ctx.t.cases.sameYes },
            { id: 'rs:no', label: ctx.t.cases.sameNo },
          ],
        });
        return { next: 'same', data };
      },
      async confirm(ctx, input, data) {
        const c = choiceOf(input);
        const r = ctx.t.report;
        if (c === 'rc:cancel') {
          ctx.reply({ text: r.cancelled });
          return { done: true };
        }
        if (c === 'rc:edit') {
          ctx.reply({ text: r.pickEdit, choices: EDITABLE.map((part) => ({ id: `re:${part}`, label: r[EDIT_LABEL[part]] })) });
          return { next: 'edit', data };
        }
        if (c !== 'rc:submit') return confirm(ctx, data);
        const home = await communityOf(ctx);
        if (!home) return { goto: 'household' };
        const point = data.point as { lat: number; lng: number } | null;
        const { number } = await submitCase(
          ctx.tx,
          fx(ctx),
          {
            intakeKey: ctx.messageKey,
            reporterId: ctx.person.id,
            communityId: home.communityId,
            placeId: point ? null : home.householdId,
            categoryId: Number(data.categoryId),
            priority: data.priority as Priority,
            description: String(data.description),
            point,
            locationLabel: (data.locationLabel as string | null) ?? null,
            photos: data.photos as StoredPhoto[],
            unverified: !home.verified,
          },
          ctx.now,
        );
        ctx.reply({ text: ctx.t.cases.submitted({ number }) });
        return { done: true };
      },
      async edit(ctx, input, data) {
        const part = EDITABLE.find((p) => choiceOf(input) === `re:${p}`);
        if (!part) return confirm(ctx, data);
        return ASK[part](ctx, { ...data, editing: true });
      },
    },
  };

  const ASK: Record<Editable, (ctx: FlowContext, data: Data) => StepOutcome | Promise<StepOutcome>> = {
    category: askCategory,
    description: askDescription,
    photos: askPhotos,
    place: askLocation,
    priority: askPriority,
  };

  return report;
}
