import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Queryable } from '../../db/client.js';
import type { InboundPayload } from '../dialog/events.js';
import type { Flow, FlowContext, PersonView, StepOutcome } from '../dialog/flow.js';
import { formatLocal } from '../notices/rules.js';
import { reachRoots, scopedAssignments } from '../staff/scope.js';
import { MANAGE, MENU, PAPER } from './buttons.js';
import { ConsultationError, getConsultation, mustReach, scopesOf, type ConsultationRow } from './commands.js';
import { explainResult, refusalText } from './explain.js';
import { closeConsultation, currentResult, lifecycleDeps, publishConsultation } from './lifecycle.js';
import { formatArea, mayClose } from './rules.js';
import { eligibleFor, turnoutByBuilding, turnoutTotals } from './tally.js';

/**
 * 管理协商 (staff, in chat): the votes in the person's area; for one, live turnout by building
 * (people, households and floor area against what the rule needs; never the count per option
 * while it runs), 提前结束 with a reason where the vote allows it, and 公布结果 once closed,
 * after a confirmation (publishing freezes it). Every look and act is role × area checked and
 * audited, as on the CLI.
 */

const isStaff = (p: PersonView) => p.consented && p.staff.some((s) => !s.onLeave);
const textOf = (input: InboundPayload) => (input.kind === 'text' ? input.text.trim() : '');
const LIST_LIMIT = 10;
const REASON = z.string().trim().min(2).max(200);
const target = z.object({ id: z.uuid() });

/** Consultations whose every scope lies inside the person's reach, newest first. */
async function consultationsInReach(db: Queryable, personId: string): Promise<Pick<ConsultationRow, 'id' | 'title' | 'status' | 'opensAt'>[]> {
  const roots = reachRoots(await scopedAssignments(db, personId)).map((u) => u.path);
  if (roots.length === 0) return [];
  // Drafts only once scheduled (定时开始): a draft without a time is a CLI draft still being prepared.
  const rows = (await db.execute(sql`
    select c.id, c.title, c.status, c.opens_at as "opensAt" from consultations c
    where (c.status <> 'draft' or c.opens_at is not null) and not exists (
      select 1 from consultation_scopes s join org_units u on u.id = s.org_unit_id
      where s.consultation_id = c.id and not exists (select 1 from unnest(${sql.param(roots)}::text[]) r(path) where u.path like r.path || '%'))
    order by c.created_at desc limit ${LIST_LIMIT}`)) as unknown as (Pick<ConsultationRow, 'id' | 'title' | 'status'> & { opensAt: string | null })[];
  return rows.map((r) => ({ ...r, opensAt: r.opensAt === null ? null : new Date(r.opensAt) }));
}

/** A consultation's status as staff read it: a scheduled draft says when it opens. */
function statusLabel(t: FlowContext['t']['consultationStaff'], c: Pick<ConsultationRow, 'status' | 'opensAt'>, timeZone: string): string {
  return c.status === 'draft' && c.opensAt ? t.status_scheduled({ opens: formatLocal(c.opensAt, timeZone) }) : t[`status_${c.status}`];
}

/** The consultation, when this person may manage it. */
export async function inReach(ctx: FlowContext, raw: string): Promise<ConsultationRow> {
  const c = target.safeParse({ id: raw }).success ? await getConsultation(ctx.tx, raw) : undefined;
  if (!c) throw new ConsultationError('not_found');
  await mustReach(ctx.tx, ctx.person.id, await scopesOf(ctx.tx, c.id));
  return c;
}

function refuse(ctx: FlowContext, err: unknown): StepOutcome {
  if (!(err instanceof ConsultationError)) throw err;
  ctx.reply({ text: refusalText(ctx.t, err) });
  return { done: true, silent: true };
}

/** Turnout lines: the totals against the rule, then one line per building. */
async function turnoutText(ctx: FlowContext, c: ConsultationRow): Promise<string> {
  const t = ctx.t.consultationStaff;
  const rows = await turnoutByBuilding(ctx.tx, c.id, c.basis);
  const e = eligibleFor(c.basis, c.eligible ?? { people: 0, households: 0, owners: 0, area: 0 });
  const sum = turnoutTotals(rows);
  const total = { voters: sum.voters, homes: sum.households, eligibleHomes: c.eligible?.households ?? 0 };
  const owners = c.basis === 'owners';
  const lines = [
    (c.basis === 'adults' ? t.totalPeople(total) : t.totalHomes(total)) + (owners ? t.totalArea({ area: formatArea(sum.area), total: formatArea(e.area) }) : ''),
    ...(c.rule === 'quorum_majority' ? [t.quorum({ pct: c.quorumPct })] : c.rule === 'civil_code_278' ? [t.quorum278] : []),
    ...rows.map((r) => t.building({ building: r.building || '-', homes: r.households, eligibleHomes: r.eligibleHouseholds, area: owners ? t.buildingArea({ area: `${formatArea(r.area)}/${formatArea(r.eligibleArea)}` }) : '' })),
  ];
  return lines.join('\n');
}

export function createConsultationManageFlows(): Flow[] {
  async function show(ctx: FlowContext, raw: string): Promise<StepOutcome | void> {
    const t = ctx.t.consultationStaff;
    try {
      const c = await inReach(ctx, raw);
      await ctx.audit('consultation.view_turnout', 'consultation', c.id);
      const head = t.head({ title: c.title, status: statusLabel(t, c, ctx.config.notices.timeZone), closes: formatLocal(c.closesAt, ctx.config.notices.timeZone) });
      const turnout = await turnoutText(ctx, c);
      if (c.status === 'open' || c.status === 'draft') {
        const early = mayClose(c, ctx.now) === 'early';
        const choices = [
          ...(c.status === 'open' && c.basis !== 'adults' ? [{ id: PAPER.start(c.id), label: ctx.t.consultationPaper.enter }] : []),
          ...(early ? [{ id: MANAGE.close(c.id), label: t.closeEarly }] : []),
        ];
        ctx.reply({ text: `${head}\n${turnout}\n${t.hiddenWhileOpen}`, ...(choices.length && { choices }) });
        return;
      }
      const result = explainResult(ctx.t, c, await currentResult(ctx.tx, c));
      ctx.reply({ text: `${head}\n${turnout}\n${result}`, ...(c.status === 'closed' && { choices: [{ id: MANAGE.publish(c.id), label: t.publish }] }) });
    } catch (err) {
      return refuse(ctx, err);
    }
  }

  const manage: Flow = {
    name: 'consultationManage',
    menu: [{ id: MENU.manage, label: (t) => t.consultationStaff.menuManage, visible: isStaff, order: 52, section: 'manage' }],
    actions: {
      [MANAGE.prefix.show]: show,
      [MANAGE.prefix.close]: async (_ctx, raw) => ({ goto: 'consultationClose', args: { id: raw } }),
      [MANAGE.prefix.publish]: async (_ctx, raw) => ({ goto: 'consultationPublish', args: { id: raw } }),
    },
    async start(ctx) {
      const t = ctx.t.consultationStaff;
      const list = await consultationsInReach(ctx.tx, ctx.person.id);
      if (list.length === 0) {
        ctx.reply({ text: t.empty });
        return { done: true };
      }
      ctx.reply({ text: t.intro, choices: list.map((c) => ({ id: MANAGE.show(c.id), label: t.item({ status: statusLabel(t, c, ctx.config.notices.timeZone), title: c.title }).slice(0, 100) })) });
      return { done: true, silent: true };
    },
    steps: {},
  };

  /** 提前结束: the reason, then closed under the vote's own rule (lifecycle.ts closeConsultation). */
  const close: Flow = {
    name: 'consultationClose',
    async start(ctx, raw) {
      const a = target.parse(raw);
      try {
        const c = await inReach(ctx, a.id);
        const when = mayClose(c, ctx.now);
        if (when === 'not_open') throw new ConsultationError('status', { status: c.status });
        if (when === 'not_allowed') throw new ConsultationError('early_close_not_allowed');
      } catch (err) {
        return refuse(ctx, err);
      }
      ctx.reply({ text: ctx.t.consultationStaff.askReason });
      return { next: 'reason', data: a };
    },
    steps: {
      async reason(ctx, input, raw) {
        const a = target.parse(raw);
        const reason = REASON.safeParse(textOf(input));
        if (!reason.success) {
          ctx.reply({ text: ctx.t.consultationStaff.badReason });
          return { next: 'reason', data: a };
        }
        try {
          const c = await inReach(ctx, a.id);
          const out = await closeConsultation(ctx.uow, a.id, ctx.now, { actorId: ctx.person.id, reason: reason.data });
          if (out.closed) ctx.reply({ text: ctx.t.consultationStaff.closed({ result: explainResult(ctx.t, c, out.result) }) });
        } catch (err) {
          return refuse(ctx, err);
        }
        return { done: true, silent: true };
      },
    },
  };

  /** 公布结果: the result as it stands, a confirmation, then frozen and announced. */
  const publish: Flow = {
    name: 'consultationPublish',
    async start(ctx, raw) {
      const a = target.parse(raw);
      const t = ctx.t.consultationStaff;
      try {
        const c = await inReach(ctx, a.id);
        if (c.status === 'published') throw new ConsultationError('frozen');
        if (c.status !== 'closed') {
          ctx.reply({ text: t.notYetClosed });
          return { done: true, silent: true };
        }
        ctx.reply({ text: t.publishAsk({ result: explainResult(ctx.t, c, await currentResult(ctx.tx, c)) }), choices: [{ id: MANAGE.publishYes, label: t.publishYes }, { id: MANAGE.cancel, label: t.cancel }] });
      } catch (err) {
        return refuse(ctx, err);
      }
      return { next: 'confirm', data: a };
    },
    steps: {
      async confirm(ctx, input, raw) {
        const a = target.parse(raw);
        const t = ctx.t.consultationStaff;
        const choice = input.kind === 'choice' ? input.choice : undefined;
        if (choice === MANAGE.cancel) {
          ctx.reply({ text: t.cancelled });
          return { done: true, silent: true };
        }
        if (choice !== MANAGE.publishYes) {
          ctx.reply({ text: t.publishAsk({ result: '' }).trim(), choices: [{ id: MANAGE.publishYes, label: t.publishYes }, { id: MANAGE.cancel, label: t.cancel }] });
          return { next: 'confirm', data: a };
        }
        try {
          await publishConsultation(ctx.uow, ctx.person.id, a.id, ctx.now, lifecycleDeps(ctx.config));
          ctx.reply({ text: t.published });
        } catch (err) {
          return refuse(ctx, err);
        }
        return { done: true, silent: true };
      },
    },
  };

  return [manage, close, publish];
}
