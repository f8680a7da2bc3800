import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Queryable } from '../../db/client.js';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, StepOutcome } from '../dialog/flow.js';
import { codeKey } from '../secrets.js';
import { PAPER, paperBuildingPress, paperHouseholdPress, paperOptionPress } from './buttons.js';
import { ConsultationError, enterBallot, type ConsultationRow } from './commands.js';
import { choiceLabels, refusalText } from './explain.js';
import { inReach } from './manage-flow.js';
import { turnoutByBuilding } from './tally.js';

/**
 * 录入纸质票 / 委托票 (staff, in chat): the committee's clerk types in a household's paper ballot
 * (业主大会 still votes on paper) or a proxy ballot with its authorisation, from the form in front of
 * them: building (buttons), home (typed "2-101"), paper or proxy, the options marked, a summary to
 * check, then entered through the same `enterBallot` as the CLI, so one ballot per household holds
 * across chat, paper and proxy (a household that voted in chat is refused, with how it voted) and
 * every entry is audited (never the choices of a secret ballot).
 */

const BUILDING_BUTTONS = 60;
const NAME = z.string().trim().min(1).max(60);
const DOCUMENT = z.string().trim().min(1).max(120);
/** "2-101", "2单元101", "2 101" (entrance and room) or "101" (room only). */
const HOME = /^(?:(\d{1,3})\s*(?:单元|-|－|—|\s)\s*)?([0-9A-Za-z]{1,8})$/;

/** The flow's stored step data (parsed on every step: dialog state is input too). */
const paperData = z.object({
  id: z.uuid(),
  buildingId: z.number().int().positive().optional(),
  householdId: z.number().int().positive().optional(),
  home: z.string().max(160).optional(),
  via: z.enum(['paper', 'proxy']).optional(),
  grantor: NAME.optional(),
  proxy: NAME.optional(),
  document: DOCUMENT.optional(),
  chosen: z.array(z.number().int().min(0).max(8)).max(9).default([]),
});
type PaperData = z.infer<typeof paperData>;

const textOf = (input: InboundPayload) => (input.kind === 'text' ? input.text.trim() : '');
const choiceOf = (input: InboundPayload) => (input.kind === 'choice' ? input.choice : undefined);

type Home = { id: number; label: string };

/** Households under the building whose room (and entrance, when given) match what was typed. */
async function findHomes(db: Queryable, buildingId: number, typed: string): Promise<Home[]> {
  const m = HOME.exec(typed.replace(/\s+/g, ' '));
  if (!m) return [];
  const [, entrance, room] = m;
  const rows = (await db.execute(sql`
    select h.id, b.name as building, coalesce(u.name, '') as unit, h.name as room
    from org_units b
    join org_units h on h.kind = 'household' and h.path like b.path || '%'
    left join org_units u on u.id = h.parent_id and u.kind = 'unit'
    where b.id = ${buildingId} and b.kind = 'building' and h.name = ${room!}
      and (${entrance ?? null}::text is null or u.name in (${entrance ?? ''}, ${`${entrance ?? ''}单元`}) or u.code like ${`%-U${entrance ?? ''}`})
    order by u.name, h.id limit 20`)) as unknown as { id: number; building: string; unit: string; room: string }[];
  return rows.map((r) => ({ id: Number(r.id), label: [r.building, r.unit, r.room].filter(Boolean).join(' ') }));
}

export function createPaperBallotFlow(): Flow {
  function refuse(ctx: FlowContext, err: unknown): StepOutcome {
    if (!(err instanceof ConsultationError)) throw err;
    ctx.reply({ text: refusalText(ctx.t, err) });
    return { done: true, silent: true };
  }

  /** The consultation, open, household-based, within the clerk's area: else the reason and the flow ends. */
  async function load(ctx: FlowContext, id: string): Promise<ConsultationRow | StepOutcome> {
    try {
      const c = await inReach(ctx, id);
      if (c.status !== 'open') {
        ctx.reply({ text: ctx.t.consultationPaper.notOpen });
        return { done: true, silent: true };
      }
      if (c.basis === 'adults') throw new ConsultationError('paper_needs_household');
      return c;
    } catch (err) {
      return refuse(ctx, err);
    }
  }
  const isRow = (v: ConsultationRow | StepOutcome): v is ConsultationRow => 'options' in v;

  async function askBuilding(ctx: FlowContext, c: ConsultationRow): Promise<StepOutcome> {
    const buildings = (await turnoutByBuilding(ctx.tx, c.id, c.basis)).filter((b) => b.buildingId !== null).slice(0, BUILDING_BUTTONS);
    ctx.reply({ text: ctx.t.consultationPaper.askBuilding, choices: buildings.map((b) => ({ id: PAPER.building(b.buildingId!), label: `${b.building} (${b.households}/${b.eligibleHouseholds})`.slice(0, 60) })) });
    return { next: 'building', data: { id: c.id, chosen: [] } };
  }

  function askChoices(ctx: FlowContext, c: ConsultationRow, data: PaperData): StepOutcome {
    const t = ctx.t.consultationPaper;
    const mark = (i: number) => (c.multiple ? (data.chosen.includes(i) ? '✅ ' : '⬜ ') : '');
    ctx.reply({
      text: c.multiple ? t.pickUpTo({ max: c.maxChoices }) : t.pickOne,
      choices: [...c.options.map((o, i) => ({ id: PAPER.option(i), label: `${mark(i)}${o}`.slice(0, 60) })), ...(c.multiple && data.chosen.length ? [{ id: PAPER.done, label: t.done }] : [])],
    });
    return { next: 'choices', data };
  }

  function askConfirm(ctx: FlowContext, c: ConsultationRow, data: PaperData): StepOutcome {
    const t = ctx.t.consultationPaper;
    const proxy = data.via === 'proxy' ? t.proxyLine({ grantor: data.grantor ?? '', proxy: data.proxy ?? '', document: data.document ?? '' }) : '';
    ctx.reply({
      text: t.summary({ home: data.home ?? '', via: data.via === 'proxy' ? t.viaProxy : t.viaPaper, choices: choiceLabels(c, data.chosen), proxy }),
      choices: [{ id: PAPER.confirm, label: t.confirm }, { id: PAPER.cancel, label: t.cancel }],
    });
    return { next: 'confirm', data };
  }

  /** One text step of the proxy's authorisation. */
  const proxyStep =
    (field: 'grantor' | 'proxy' | 'document', then: (ctx: FlowContext, data: PaperData) => Promise<StepOutcome>) =>
    async (ctx: FlowContext, input: InboundPayload, raw?: Record<string, unknown>): Promise<StepOutcome> => {
      const data = paperData.parse(raw);
      const value = (field === 'document' ? DOCUMENT : NAME).safeParse(textOf(input));
      if (!value.success) {
        ctx.reply({ text: ctx.t.consultationPaper.badText });
        return { next: field, data };
      }
      return then(ctx, { ...data, [field]: value.data });
    };

  const withConsultation = (next: (ctx: FlowContext, c: ConsultationRow, data: PaperData) => StepOutcome) => async (ctx: FlowContext, data: PaperData) => {
    const c = await load(ctx, data.id);
    return isRow(c) ? next(ctx, c, data) : c;
  };

  return {
    name: 'consultationPaper',
    actions: { [PAPER.prefix]: async (_ctx, raw) => ({ goto: 'consultationPaper', args: { id: raw } }) },
    async start(ctx, args) {
      const id = z.object({ id: z.uuid() }).safeParse(args);
      if (!id.success) return refuse(ctx, new ConsultationError('not_found'));
      const c = await load(ctx, id.data.id);
      if (!isRow(c)) return c;
      return askBuilding(ctx, c);
    },
    steps: {
      async building(ctx, input, raw) {
        const data = paperData.parse(raw);
        const press = paperBuildingPress.safeParse(choiceOf(input));
        if (!press.success) {
          const c = await load(ctx, data.id);
          return isRow(c) ? askBuilding(ctx, c) : c;
        }
        ctx.reply({ text: ctx.t.consultationPaper.askRoom });
        return { next: 'room', data: { ...data, buildingId: press.data } };
      },
      async room(ctx, input, raw) {
        const data = paperData.parse(raw);
        const t = ctx.t.consultationPaper;
        const press = paperHouseholdPress.safeParse(choiceOf(input));
        const homes = press.success ? [] : await findHomes(ctx.tx, data.buildingId!, textOf(input));
        if (press.success) {
          // A press on one of the homes listed below: it must be under the chosen building.
          const again = (await ctx.tx.execute(sql`select 1 from org_units h join org_units b on b.id = ${data.buildingId!} where h.id = ${press.data} and h.kind = 'household' and h.path like b.path || '%'`)) as unknown[];
          if (again.length === 0) {
            ctx.reply({ text: t.badRoom });
            return { next: 'room', data };
          }
          const label = (await ctx.tx.execute(sql`select concat_ws(' ', b.name, u.name, h.name) as label from org_units h join org_units b on b.id = ${data.buildingId!} left join org_units u on u.id = h.parent_id and u.kind = 'unit' where h.id = ${press.data}`)) as unknown as { label: string }[];
          homes.push({ id: press.data, label: label[0]?.label ?? '' });
        }
        if (homes.length === 0) {
          ctx.reply({ text: t.badRoom });
          return { next: 'room', data };
        }
        if (homes.length > 1) {
          ctx.reply({ text: t.pickHousehold, choices: homes.map((h) => ({ id: PAPER.household(h.id), label: h.label.slice(0, 60) })) });
          return { next: 'room', data };
        }
        ctx.reply({ text: t.askVia({ home: homes[0]!.label }), choices: [{ id: PAPER.paper, label: t.viaPaper }, { id: PAPER.proxy, label: t.viaProxy }] });
        return { next: 'via', data: { ...data, householdId: homes[0]!.id, home: homes[0]!.label } };
      },
      async via(ctx, input, raw) {
        const data = paperData.parse(raw);
        const t = ctx.t.consultationPaper;
        const choice = choiceOf(input);
        if (choice === PAPER.proxy) {
          ctx.reply({ text: t.askGrantor });
          return { next: 'grantor', data: { ...data, via: 'proxy' } };
        }
        if (choice !== PAPER.paper) {
          ctx.reply({ text: t.askVia({ home: data.home ?? '' }), choices: [{ id: PAPER.paper, label: t.viaPaper }, { id: PAPER.proxy, label: t.viaProxy }] });
          return { next: 'via', data };
        }
        return withConsultation(askChoices)(ctx, { ...data, via: 'paper' });
      },
      grantor: proxyStep('grantor', async (ctx, data) => {
        ctx.reply({ text: ctx.t.consultationPaper.askProxy });
        return { next: 'proxy', data };
      }),
      proxy: proxyStep('proxy', async (ctx, data) => {
        ctx.reply({ text: ctx.t.consultationPaper.askDocument });
        return { next: 'document', data };
      }),
      document: proxyStep('document', (ctx, data) => withConsultation(askChoices)(ctx, data)),
      async choices(ctx, input, raw) {
        const data = paperData.parse(raw);
        const c = await load(ctx, data.id);
        if (!isRow(c)) return c;
        if (choiceOf(input) === PAPER.done && data.chosen.length) return askConfirm(ctx, c, data);
        const option = paperOptionPress.safeParse(choiceOf(input));
        if (!option.success || option.data >= c.options.length) return askChoices(ctx, c, data);
        if (!c.multiple) return askConfirm(ctx, c, { ...data, chosen: [option.data] });
        const has = data.chosen.includes(option.data);
        const chosen = has ? data.chosen.filter((i) => i !== option.data) : data.chosen.length < c.maxChoices ? [...data.chosen, option.data].sort((x, y) => x - y) : data.chosen;
        return askChoices(ctx, c, { ...data, chosen });
      },
      async confirm(ctx, input, raw) {
        const data = paperData.parse(raw);
        const t = ctx.t.consultationPaper;
        const choice = choiceOf(input);
        if (choice === PAPER.cancel) {
          ctx.reply({ text: t.cancelled });
          return { done: true, silent: true };
        }
        const c = await load(ctx, data.id);
        if (!isRow(c)) return c;
        if (choice !== PAPER.confirm) return askConfirm(ctx, c, data);
        const proxy = data.via === 'proxy' ? { grantor: data.grantor ?? '', proxy: data.proxy ?? '', documentRef: data.document ?? '' } : undefined;
        try {
          // A savepoint: a refusal part-way (already voted in chat, out of scope) leaves nothing behind.
          const r = await ctx.uow.savepoint((uow) => enterBallot(uow.tx, codeKey(ctx.config), ctx.person.id, c.id, data.householdId!, data.chosen, ctx.now, proxy));
          const home = data.home ?? '';
          ctx.reply({ text: !r.stored ? t.same({ home, receipt: r.receipt }) : r.changed ? t.changed({ home, receipt: r.receipt }) : t.stored({ home, receipt: r.receipt }) });
        } catch (err) {
          return refuse(ctx, err);
        }
        return { done: true, silent: true };
      },
    },
  };
}
