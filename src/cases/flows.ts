import { and, asc, desc, eq, gte, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { caseCategories, caseEvents, caseFollowers, cases } from '../../db/schema/index.js';
import type { MediaBytes } from '../../bots/channel.js';
import type { Channel, InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';
import { ancestorOfKind, getUnit, unitsUnder } from '../org/tree.js';
import { storePhoto, type PhotoStore } from '../photos/store.js';
import { subCommittee } from '../../db/schema/index.js';
import { formatDue } from './card.js';
import type { CaseSettings } from './effects.js';
import { commentCase, takeOver } from './escalation.js';
import { addInfo, commentOnRating, rateCase } from './feedback.js';
import { acceptCase, closeCase, openCasesOf, resolveCase, returnToCommunity, transferCase, type StaffCloseReason, type TransferTarget } from './holder.js';
import { followCase, submitCase } from './intake.js';
import { CaseError } from './record.js';
import { chosenCategory, offerCategories, readDescription } from './input.js';
import { categoryName } from './queries.js';
import { createDeskFlows } from './desk.js';
import { flowEffects, type CaseScheduler } from './run.js';
import { DUPLICATE_RULES, looksLikeSameProblem, OPEN_STATUSES, type Priority, type Rating } from './rules.js';

/** Largest photo we accept from any channel (the web chat enforces the same). */
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;

export interface CaseFlowDeps {
  scheduler: CaseScheduler;
  photos: PhotoStore;
  /** The bytes behind an inbound photo, from the channel it came in on. */
  fetchMedia(channel: Channel, fileRef: string): Promise<MediaBytes>;
  settings: CaseSettings & { maxPhotos: number };
}

const note = z.string().trim().min(2).max(1000);
const uuid = z.uuid();
const RATINGS: Record<string, Rating> = { s: 'satisfied', b: 'basically_satisfied', u: 'unsatisfied' };

type StoredPhoto = { storageKey: string; mimeType: string; bytes: number; sha256: string };

function choiceOf(input: InboundPayload): string | undefined {
  return input.kind === 'choice' ? input.choice : undefined;
}

/** A CaseError as a clear answer; anything else is a bug and goes to the engine's apology. */
function explain(ctx: FlowContext, err: unknown): StepOutcome {
  if (!(err instanceof CaseError)) throw err;
  const t = ctx.t.cases;
  ctx.reply({
    text: err.reason === 'not_found' ? t.caseNotFound : err.reason === 'not_yours' ? t.notYours : t.notAllowed({ status: err.status ? t[`status_${err.status}`] : '' }),
  });
  return { done: true, silent: true };
}

export function createCaseFlows(deps: CaseFlowDeps): Flow[] {
  const settings = deps.settings;
  const fx = (ctx: FlowContext) => flowEffects(ctx, deps.scheduler);

  async function savePhoto(ctx: FlowContext, input: Extract<InboundPayload, { kind: 'photo' }>): Promise<StoredPhoto | undefined> {
    try {
      const media = await deps.fetchMedia(ctx.identity.channel, input.photo.fileRef);
      const stored = await storePhoto(deps.photos, media.bytes, MAX_PHOTO_BYTES);
      return { storageKey: stored.key, mimeType: stored.mimeType, bytes: stored.bytes, sha256: stored.sha256 };
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message }, 'photo not stored');
      return undefined;
    }
  }

  async function communityOf(ctx: FlowContext): Promise<{ communityId: number; householdId: number; buildingId: number | null } | undefined> {
    if (ctx.person.householdStatus !== 'bound' || ctx.person.householdId === null) return undefined;
    const household = await getUnit(ctx.tx, ctx.person.householdId);
    if (!household) return undefined;
    const community = await ancestorOfKind(ctx.tx, household, 'community');
    const building = await ancestorOfKind(ctx.tx, household, 'building');
    return community ? { communityId: community.id, householdId: household.id, buildingId: building?.id ?? null } : undefined;
  }

  const label = (ctx: FlowContext, names: { 'zh-CN': string; ko?: string; en?: string }) => categoryName(names, ctx.person.locale);

  async function askCategory(ctx: FlowContext, communityId: number): Promise<StepOutcome> {
    return (await offerCategories(ctx, communityId, 'cat')) ? { next: 'category', data: { communityId } } : { done: true };
  }

  const photoChoices = (t: Messages) => [
    { id: 'rp:done', label: t.cases.done },
    { id: 'rp:skip', label: t.cases.skip },
  ];

  async function confirm(ctx: FlowContext, data: Record<string, unknown>): Promise<StepOutcome> {
    const t = ctx.t.cases;
    const [cat] = await ctx.tx.select({ names: caseCategories.names }).from(caseCategories).where(eq(caseCategories.id, Number(data.categoryId)));
    const summary = t.summary({
      category: cat ? label(ctx, cat.names) : '',
      description: String(data.description),
      place: typeof data.locationLabel === 'string' ? data.locationLabel : data.point ? t.placePoint : t.placeHome,
      photos: (data.photos as StoredPhoto[]).length,
      priority: t[`priority_${data.priority as Priority}`],
    });
    ctx.reply({ text: t.confirm({ summary }), choices: [{ id: 'rc:submit', label: t.submit }] });
    return { next: 'confirm', data };
  }

  /** 报事: category → description → photos → place → urgency → (same problem?) → confirm. */
  const report: Flow = {
    name: 'report',
    menu: [{ id: 'menu.report', label: (t) => t.cases.menuReport, visible: (p) => p.consented && p.householdStatus === 'bound', order: 10 }],
    commands: { words: ['/report', '报事', '诉求', '민원', 'report'] },
    async start(ctx) {
      const home = await communityOf(ctx);
      if (!home) {
        ctx.reply({ text: ctx.t.cases.needHousehold });
        return { goto: 'household' };
      }
      return askCategory(ctx, home.communityId);
    },
    steps: {
      async category(ctx, input, data) {
        const id = await chosenCategory(ctx, input, Number(data.communityId), 'cat');
        if (id === undefined) return askCategory(ctx, Number(data.communityId));
        ctx.reply({ text: ctx.t.cases.askDescription });
        return { next: 'description', data: { ...data, categoryId: id } };
      },
      async description(ctx, input, data) {
        const text = readDescription(ctx, input);
        if (text === undefined) return { next: 'description', data };
        ctx.reply({ text: ctx.t.cases.askPhotos({ max: settings.maxPhotos }), choices: photoChoices(ctx.t) });
        return { next: 'photos', data: { ...data, description: text, photos: [] } };
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
          if (!stored) {
            ctx.reply({ text: t.photoFailed, choices: photoChoices(ctx.t) });
            return { next: 'photos', data };
          }
          const next = [...photos, stored];
          ctx.reply({ text: t.photoSaved({ n: next.length, max: settings.maxPhotos }), choices: photoChoices(ctx.t) });
          return { next: 'photos', data: { ...data, photos: next } };
        }
        const c = choiceOf(input);
        const typed = input.kind === 'text' ? input.text.trim() : '';
        if (c !== 'rp:done' && c !== 'rp:skip' && typed !== t.done && typed !== t.skip) {
          ctx.reply({ text: t.askPhotos({ max: settings.maxPhotos }), choices: photoChoices(ctx.t) });
          return { next: 'photos', data };
        }
        ctx.reply({ text: t.askLocation, choices: [{ id: 'rl:home', label: t.atMyHome }], requestLocation: true });
        return { next: 'location', data };
      },
      async location(ctx, input, data) {
        const t = ctx.t.cases;
        let place: Record<string, unknown>;
        if (input.kind === 'location') place = { point: { lat: input.location.lat, lng: input.location.lng }, locationLabel: input.location.label ?? null };
        else if (choiceOf(input) === 'rl:home') place = { point: null, locationLabel: null };
        else if (input.kind === 'text' && input.text.trim().length >= 2) place = { point: null, locationLabel: input.text.trim().slice(0, 200) };
        else {
          ctx.reply({ text: t.askLocation, choices: [{ id: 'rl:home', label: t.atMyHome }], requestLocation: true });
          return { next: 'location', data };
        }
        ctx.reply({
          text: t.askPriority,
          choices: [
            { id: 'rq:normal', label: t.normal },
            { id: 'rq:urgent', label: t.urgent },
          ],
        });
        return { next: 'priority', data: { ...data, ...place } };
      },
      async priority(ctx, input, data) {
        const t = ctx.t.cases;
        const c = choiceOf(input);
        if (c !== 'rq:normal' && c !== 'rq:urgent') {
          ctx.reply({
            text: t.askPriority,
            choices: [
              { id: 'rq:normal', label: t.normal },
              { id: 'rq:urgent', label: t.urgent },
            ],
          });
          return { next: 'priority', data };
        }
        const withPriority = { ...data, priority: c === 'rq:urgent' ? 'urgent' : 'normal' };
        const same = await sameProblem(ctx, withPriority);
        if (same) {
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
        if (c === 'rs:no') return confirm(ctx, data);
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
        if (choiceOf(input) !== 'rc:submit') return confirm(ctx, data);
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
          },
          ctx.now,
        );
        ctx.reply({ text: ctx.t.cases.submitted({ number }) });
        return { done: true };
      },
    },
  };

  /** An open case of the same category nearby, reported recently, that this person does not follow yet. */
  async function sameProblem(ctx: FlowContext, data: Record<string, unknown>) {
    const home = await communityOf(ctx);
    if (!home) return undefined;
    const since = new Date(ctx.now.getTime() - DUPLICATE_RULES.maxAgeDays * 86_400_000);
    const candidates = await ctx.tx
      .select({ id: cases.id, number: cases.number, description: cases.description, placeId: cases.placeId, lat: cases.lat, lng: cases.lng, createdAt: cases.createdAt, status: cases.status, categoryId: cases.categoryId })
      .from(cases)
      .where(
        and(
          eq(cases.communityId, home.communityId),
          eq(cases.categoryId, Number(data.categoryId)),
          inArray(cases.status, [...OPEN_STATUSES]),
          gte(cases.createdAt, since),
        ),
      )
      .orderBy(desc(cases.createdAt))
      .limit(50);
    const followed = new Set(
      (await ctx.tx.select({ caseId: caseFollowers.caseId }).from(caseFollowers).where(eq(caseFollowers.personId, ctx.person.id))).map((r) => r.caseId),
    );
    const point = data.point as { lat: number; lng: number } | null;
    for (const c of candidates) {
      if (followed.has(c.id)) continue;
      const building = c.placeId !== null ? await getUnit(ctx.tx, c.placeId).then((u) => (u ? ancestorOfKind(ctx.tx, u, 'building') : undefined)) : undefined;
      const hit = looksLikeSameProblem(
        { categoryId: Number(data.categoryId), buildingId: point ? null : home.buildingId, point, at: ctx.now },
        { categoryId: c.categoryId, buildingId: building?.id ?? null, point: c.lat !== null ? { lat: Number(c.lat), lng: Number(c.lng) } : null, at: c.createdAt, status: c.status },
      );
      if (hit) return c;
    }
    return undefined;
  }

  async function caseDetail(ctx: FlowContext, caseId: string): Promise<StepOutcome> {
    const t = ctx.t.cases;
    const [c] = await ctx.tx
      .select({ id: cases.id, number: cases.number, status: cases.status, categoryId: cases.categoryId, reporterId: cases.reporterId })
      .from(cases)
      .where(eq(cases.id, caseId));
    const follows = c ? (await ctx.tx.select().from(caseFollowers).where(and(eq(caseFollowers.caseId, c.id), eq(caseFollowers.personId, ctx.person.id)))).length > 0 : false;
    if (!c || (c.reporterId !== ctx.person.id && !follows)) {
      ctx.reply({ text: t.caseNotFound });
      return { done: true };
    }
    const [cat] = await ctx.tx.select({ names: caseCategories.names }).from(caseCategories).where(eq(caseCategories.id, c.categoryId));
    const events = await ctx.tx
      .select({ kind: caseEvents.kind, at: caseEvents.at, reason: caseEvents.reason })
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, c.id), eq(caseEvents.public, true)))
      .orderBy(asc(caseEvents.id));
    const lines = events.map((e) => t.timelineLine({ at: formatDue(e.at), what: t[`event_${e.kind}`], note: e.kind === 'resolved' && e.reason ? e.reason : '' })).join('\n');
    const choices =
      c.status === 'resolved'
        ? (['satisfied', 'basically_satisfied', 'unsatisfied'] as const).map((r) => ({ id: `cr:${c.id}:${r[0]}`, label: t[`rate_${r}`] }))
        : OPEN_STATUSES.includes(c.status)
          ? [{ id: `mi:${c.id}`, label: t.addInfo }]
          : undefined;
    ctx.reply({ text: t.timeline({ number: c.number, category: cat ? label(ctx, cat.names) : '', status: t[`status_${c.status}`], lines }), choices });
    return { done: true, silent: true };
  }

  /** 我的诉求: the person's cases (reported or followed), each with its public timeline. */
  const mine: Flow = {
    name: 'mycases',
    menu: [{ id: 'menu.mycases', label: (t) => t.cases.menuMine, visible: (p) => p.consented, order: 20 }],
    commands: { words: ['/mycases', '我的诉求', '내 민원', 'my cases'] },
    async start(ctx) {
      const t = ctx.t.cases;
      const rows = await ctx.tx
        .select({ id: cases.id, number: cases.number, status: cases.status, names: caseCategories.names })
        .from(caseFollowers)
        .innerJoin(cases, eq(cases.id, caseFollowers.caseId))
        .innerJoin(caseCategories, eq(caseCategories.id, cases.categoryId))
        .where(eq(caseFollowers.personId, ctx.person.id))
        .orderBy(desc(cases.createdAt))
        .limit(10);
      if (!rows.length) {
        ctx.reply({ text: t.mineEmpty });
        return { done: true };
      }
      ctx.reply({
        text: t.mineTitle,
        choices: rows.map((r) => ({ id: `mc:${r.id}`, label: t.caseLine({ number: r.number, category: label(ctx, r.names), status: t[`status_${r.status}`] }) })),
      });
      return { next: 'pick' };
    },
    steps: {
      async pick(ctx, input) {
        const id = uuid.safeParse(choiceOf(input)?.replace(/^mc:/, ''));
        if (!id.success) return mine.start(ctx);
        return caseDetail(ctx, id.data);
      },
      async info(ctx, input, data) {
        const t = ctx.t.cases;
        let text: string | null = null;
        let photo: StoredPhoto | null = null;
        if (input.kind === 'text' && input.text.trim()) text = input.text.trim().slice(0, 1000);
        else if (input.kind === 'photo') {
          photo = (await savePhoto(ctx, input)) ?? null;
          if (!photo) {
            ctx.reply({ text: t.photoFailed });
            return { next: 'info', data };
          }
        } else {
          ctx.reply({ text: t.askInfo });
          return { next: 'info', data };
        }
        try {
          const { number } = await addInfo(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, text, photo, ctx.now);
          ctx.reply({ text: t.infoAdded({ number }) });
          return { done: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async ratingComment(ctx, input, data) {
        const t = ctx.t.cases;
        if (input.kind === 'text' && input.text.trim() && input.text.trim() !== t.skip) {
          await commentOnRating(ctx.tx, String(data.caseId), ctx.person.id, input.text.trim().slice(0, 1000), ctx.now);
        }
        ctx.reply({ text: t.ratingThanks });
        return { done: true };
      },
    },
    actions: {
      /** 补充情况 on a case: `mi:<caseId>`. */
      async mi(ctx, arg) {
        if (!uuid.safeParse(arg).success) return explain(ctx, new CaseError('not_found'));
        ctx.reply({ text: ctx.t.cases.askInfo });
        return { next: 'info', data: { caseId: arg } };
      },
      /** 好差评 from the resolution message or the case detail: `cr:<caseId>:<s|b|u>`. */
      async cr(ctx, arg) {
        const [caseId, r] = arg.split(':');
        const rating = r ? RATINGS[r] : undefined;
        if (!uuid.safeParse(caseId).success || !rating) return explain(ctx, new CaseError('not_found'));
        try {
          const result = await rateCase(ctx.tx, fx(ctx), caseId!, ctx.person.id, rating, settings, ctx.now);
          if (result.outcome === 'reopened') return { done: true, silent: true };
          ctx.reply({ text: ctx.t.cases.askRatingComment, choices: [{ id: 'rk:skip', label: ctx.t.cases.skip }] });
          return { next: 'ratingComment', data: { caseId } };
        } catch (err) {
          if (err instanceof CaseError && err.reason === 'not_allowed') {
            ctx.reply({ text: ctx.t.cases.cannotRate });
            return { done: true, silent: true };
          }
          return explain(ctx, err);
        }
      },
    },
  };

  async function transferChoices(ctx: FlowContext, caseId: string, gridsOnly: boolean) {
    const [c] = await ctx.tx.select({ communityId: cases.communityId, gridId: cases.gridId }).from(cases).where(eq(cases.id, caseId));
    if (!c) return undefined;
    const community = await getUnit(ctx.tx, c.communityId);
    const grids = community ? await unitsUnder(ctx.tx, community, 'grid') : [];
    const choices = grids.filter((g) => g.id !== c.gridId).map((g) => ({ id: `tg:${g.id}`, label: g.name }));
    if (!gridsOnly) for (const sc of subCommittee.enumValues) choices.push({ id: `ts:${sc}`, label: ctx.t.cases[`sub_${sc}`] });
    return choices.slice(0, 20);
  }

  const CLOSE_REASONS: StaffCloseReason[] = ['not_our_duty', 'transferred_out', 'duplicate'];
  function askCloseReason(ctx: FlowContext, caseId: string): StepOutcome {
    ctx.reply({ text: ctx.t.cases.pickCloseReason, choices: CLOSE_REASONS.map((r) => ({ id: `cz:${r}`, label: ctx.t.cases[`close_${r}`] })) });
    return { next: 'closeReason', data: { caseId } };
  }

  const caseIdOr = (ctx: FlowContext, arg: string, work: (caseId: string) => Promise<StepOutcome | void>) =>
    uuid.safeParse(arg).success ? work(arg).catch((err) => explain(ctx, err)) : Promise.resolve(explain(ctx, new CaseError('not_found')));

  /** 我的待办 and the buttons on case cards: accept, resolve, transfer, return, take over, comment. */
  const work: Flow = {
    name: 'casework',
    menu: [{ id: 'menu.work', label: (t) => t.cases.menuWork, visible: (p) => p.staff.length > 0, order: 5 }],
    commands: { words: ['/work', '待办', '我的待办', '내 업무', 'my work'] },
    async start(ctx) {
      const t = ctx.t.cases;
      const rows = await openCasesOf(ctx.tx, ctx.person.id);
      if (!rows.length) {
        ctx.reply({ text: t.workEmpty });
        return { done: true };
      }
      ctx.reply({
        text: t.workTitle,
        choices: rows.map((r) => ({ id: `cw:${r.id}`, label: t.workLine({ number: r.number, status: t[`status_${r.status}`], due: r.dueAt ? formatDue(r.dueAt) : '—' }) })),
      });
      return { next: 'pick' };
    },
    steps: {
      async pick(ctx, input) {
        const t = ctx.t.cases;
        const id = uuid.safeParse(choiceOf(input)?.replace(/^cw:/, ''));
        if (!id.success) return work.start(ctx);
        const [c] = await ctx.tx.select().from(cases).where(and(eq(cases.id, id.data), eq(cases.assigneeId, ctx.person.id)));
        if (!c) return explain(ctx, new CaseError('not_yours'));
        const choices =
          c.status === 'assigned'
            ? [
                { id: `ck:${c.id}`, label: t.accept },
                { id: `cv:${c.id}`, label: t.resolve },
                { id: `ct:${c.id}`, label: t.transfer },
                { id: `cb:${c.id}`, label: t.giveBack },
              ]
            : [
                { id: `cv:${c.id}`, label: t.resolve },
                { id: `ct:${c.id}`, label: t.transfer },
                { id: `cb:${c.id}`, label: t.giveBack },
              ];
        choices.push({ id: `cx:${c.id}`, label: t.closeOther });
        ctx.reply({ text: `${c.number}\n${c.description}`, choices });
        return { done: true, silent: true };
      },
      async resolveNote(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askResolveNote });
          return { next: 'resolveNote', data };
        }
        ctx.reply({ text: ctx.t.cases.askResolvePhoto, choices: [{ id: 'rp:skip', label: ctx.t.cases.skip }] });
        return { next: 'resolvePhoto', data: { ...data, note: parsed.data } };
      },
      async resolvePhoto(ctx, input, data) {
        const t = ctx.t.cases;
        let photo: StoredPhoto | null = null;
        if (input.kind === 'photo') {
          photo = (await savePhoto(ctx, input)) ?? null;
          if (!photo) {
            ctx.reply({ text: t.photoFailed, choices: [{ id: 'rp:skip', label: t.skip }] });
            return { next: 'resolvePhoto', data };
          }
        } else if (choiceOf(input) !== 'rp:skip' && !(input.kind === 'text' && input.text.trim() === t.skip)) {
          ctx.reply({ text: t.askResolvePhoto, choices: [{ id: 'rp:skip', label: t.skip }] });
          return { next: 'resolvePhoto', data };
        }
        try {
          const { number } = await resolveCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, String(data.note), photo, settings, ctx.now);
          ctx.reply({ text: t.resolvedStaff({ number }) });
          return { done: true, silent: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async transferTarget(ctx, input, data) {
        const c = choiceOf(input) ?? '';
        let target: TransferTarget | undefined;
        if (c.startsWith('tg:')) target = { kind: 'grid', gridId: Number(c.slice(3)) };
        const sc = subCommittee.enumValues.find((v) => `ts:${v}` === c);
        if (sc && !data.gridsOnly) target = { kind: 'subCommittee', subCommittee: sc };
        if (!target) {
          const choices = await transferChoices(ctx, String(data.caseId), !!data.gridsOnly);
          ctx.reply({ text: data.gridsOnly ? ctx.t.cases.pickGrid : ctx.t.cases.pickTransferTarget, choices });
          return { next: 'transferTarget', data };
        }
        ctx.reply({ text: ctx.t.cases.askTransferReason });
        return { next: 'transferReason', data: { ...data, target } };
      },
      async transferReason(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askTransferReason });
          return { next: 'transferReason', data };
        }
        try {
          const { number, toLabel } = await transferCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, data.target as TransferTarget, parsed.data, settings, ctx.now);
          ctx.reply({ text: ctx.t.cases.transferredStaff({ number, to: toLabel(ctx.t) }) });
          return { done: true, silent: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async returnReason(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askReturnReason });
          return { next: 'returnReason', data };
        }
        try {
          const { number } = await returnToCommunity(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, parsed.data, settings, ctx.now);
          ctx.reply({ text: ctx.t.cases.returnedStaff({ number }) });
          return { done: true, silent: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async closeReason(ctx, input, data) {
        const t = ctx.t.cases;
        const reason = CLOSE_REASONS.find((r) => choiceOf(input) === `cz:${r}`);
        if (!reason) return askCloseReason(ctx, String(data.caseId));
        ctx.reply({ text: reason === 'duplicate' ? t.askDuplicateOf : t.askCloseDetail({ reason: t[`close_${reason}`] }) });
        return { next: 'closeDetail', data: { ...data, reason } };
      },
      async closeDetail(ctx, input, data) {
        const t = ctx.t.cases;
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: data.reason === 'duplicate' ? t.askDuplicateOf : t.askCloseDetail({ reason: t[`close_${data.reason as StaffCloseReason}`] }) });
          return { next: 'closeDetail', data };
        }
        try {
          const { number } = await closeCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, data.reason as StaffCloseReason, parsed.data, ctx.now);
          ctx.reply({ text: t.closedStaff({ number }) });
          return { done: true, silent: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
      async comment(ctx, input, data) {
        const parsed = note.safeParse(input.kind === 'text' ? input.text : '');
        if (!parsed.success) {
          ctx.reply({ text: ctx.t.cases.askComment });
          return { next: 'comment', data };
        }
        try {
          const { number } = await commentCase(ctx.tx, fx(ctx), String(data.caseId), ctx.person.id, parsed.data, ctx.now);
          ctx.reply({ text: ctx.t.cases.commentedStaff({ number }) });
          return { done: true, silent: true };
        } catch (err) {
          return explain(ctx, err);
        }
      },
    },
    actions: {
      /** 接单 */
      ck: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const { number, due } = await acceptCase(ctx.tx, fx(ctx), caseId, ctx.person.id, settings, ctx.now);
          ctx.reply({ text: ctx.t.cases.acceptedStaff({ number, due: formatDue(due) }), choices: [{ id: `cv:${caseId}`, label: ctx.t.cases.resolve }] });
        }),
      /** 办结: asks for the note first; the command runs when it arrives. */
      cv: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const [c] = await ctx.tx.select({ status: cases.status }).from(cases).where(eq(cases.id, caseId));
          if (!c) throw new CaseError('not_found');
          if (c.status !== 'assigned' && c.status !== 'accepted') throw new CaseError('not_allowed', c.status);
          ctx.reply({ text: ctx.t.cases.askResolveNote });
          return { next: 'resolveNote', data: { caseId } };
        }),
      /** 转办 */
      ct: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const choices = await transferChoices(ctx, caseId, false);
          if (!choices) throw new CaseError('not_found');
          ctx.reply({ text: ctx.t.cases.pickTransferTarget, choices });
          return { next: 'transferTarget', data: { caseId } };
        }),
      /** 退回社区 */
      cb: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          ctx.reply({ text: ctx.t.cases.askReturnReason });
          return { next: 'returnReason', data: { caseId } };
        }),
      /** 我来处理 (leaders) */
      co: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const { number, due } = await takeOver(ctx.tx, fx(ctx), caseId, ctx.person.id, settings, ctx.now);
          ctx.reply({ text: `${ctx.t.cases.tookOver({ number })} ${ctx.t.cases.acceptedStaff({ number, due: formatDue(due) })}`, choices: [{ id: `cv:${caseId}`, label: ctx.t.cases.resolve }] });
        }),
      /** 改派网格 (leaders) */
      cg: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          const choices = await transferChoices(ctx, caseId, true);
          if (!choices) throw new CaseError('not_found');
          ctx.reply({ text: ctx.t.cases.pickGrid, choices });
          return { next: 'transferTarget', data: { caseId, gridsOnly: true } };
        }),
      /** 关闭（非办结）: 不属于本社区职责 / 已转办 / 重复, each with where it went. */
      cx: (ctx, arg) => caseIdOr(ctx, arg, async (caseId) => askCloseReason(ctx, caseId)),
      /** 批示 (leaders) */
      cm: (ctx, arg) =>
        caseIdOr(ctx, arg, async (caseId) => {
          ctx.reply({ text: ctx.t.cases.askComment });
          return { next: 'comment', data: { caseId } };
        }),
    },
  };

  return [report, mine, work, ...createDeskFlows({ scheduler: deps.scheduler })];
}
