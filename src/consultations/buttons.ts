import { z } from 'zod';
import { actionId } from '../dialog/flow.js';
import { BASES } from './rules.js';

/**
 * Every button id of the consultation flows, in one place: the builders the flows render with
 * and the zod parsers their steps read presses with.
 */

export const MENU = { vote: 'menu.consultations', topics: 'menu.topics', create: 'menu.consultationCreate', manage: 'menu.consultationManage' } as const;

/** 管理协商 (staff): actions on one consultation (`<prefix>:<id>`, they work from anywhere), and the publish step's buttons. */
const MANAGE_PREFIX = { show: 'km', close: 'ke', publish: 'kp' } as const;
export const MANAGE = {
  prefix: MANAGE_PREFIX,
  show: (id: string) => actionId(MANAGE_PREFIX.show, id),
  close: (id: string) => actionId(MANAGE_PREFIX.close, id),
  publish: (id: string) => actionId(MANAGE_PREFIX.publish, id),
  publishYes: 'km.yes',
  cancel: 'km.cancel',
} as const;

/** Voting (社区协商投票). */
export const VOTE = {
  pick: (id: string) => `cv.p.${id}`,
  option: (i: number) => `cv.o.${i}`,
  done: 'cv.done',
  confirm: 'cv.yes',
  again: 'cv.again',
  cancel: 'cv.cancel',
  change: 'cv.change',
  keep: 'cv.keep',
  adult: 'cv.adult',
  minor: 'cv.minor',
} as const;
export const pickPress = z.templateLiteral(['cv.p.', z.uuid()]).transform((s) => s.slice(5));
export const optionPress = z.templateLiteral(['cv.o.', z.string()]).transform((s, ctx) => {
  const n = Number(s.slice(5));
  if (!Number.isInteger(n) || n < 0 || n > 8) ctx.addIssue({ code: 'custom', message: 'option' });
  return n;
});

/** 议题征集. */
export const TOPIC = {
  view: (id: number) => `tp.v.${id}`,
  propose: 'tp.new',
  support: 'tp.support',
  comment: 'tp.comment',
  back: 'tp.back',
} as const;
export const topicPress = z.templateLiteral(['tp.v.', z.string()]).transform((s) => z.coerce.number().int().positive().parse(s.slice(5)));

/** 发起协商 (staff); its scope step uses the area picker's ids (src/notices/buttons.ts COMPOSE.pick/into/moreAreas/areasDone). */
export const CREATE = {
  single: 'cc.single',
  multiple: 'cc.multi',
  basis: (b: (typeof BASES)[number]) => `cc.b.${b}`,
  rule: (r: CreateRule) => `cc.r.${r}`,
  secret: 'cc.secret',
  open: 'cc.open',
  changeable: 'cc.chg',
  final: 'cc.final',
  /** 定时开始: voting starts on publishing, or at a time typed next. */
  opensNow: 'cc.now',
  opensLater: 'cc.later',
  publish: 'cc.publish',
  blank: 'cc.blank',
  cancel: 'cc.cancel',
} as const;
export const CREATE_RULES = ['simple_majority', 'quorum_majority', 'civil_code_278', 'civil_code_278_weighty'] as const;
export type CreateRule = (typeof CREATE_RULES)[number];
export const basisPress = z.templateLiteral(['cc.b.', z.enum(BASES)]).transform((s) => s.slice(5) as (typeof BASES)[number]);
export const rulePress = z.templateLiteral(['cc.r.', z.enum(CREATE_RULES)]).transform((s) => s.slice(5) as CreateRule);

/** 录入纸质票 / 委托票 (staff): started from 管理协商 (`kq:<id>`), then its steps' buttons. */
const PAPER_PREFIX = 'kq';
export const PAPER = {
  prefix: PAPER_PREFIX,
  start: (id: string) => actionId(PAPER_PREFIX, id),
  building: (id: number) => `cq.b.${id}`,
  household: (id: number) => `cq.h.${id}`,
  paper: 'cq.paper',
  proxy: 'cq.proxy',
  option: (i: number) => `cq.o.${i}`,
  done: 'cq.done',
  confirm: 'cq.yes',
  cancel: 'cq.cancel',
} as const;
/** The number after `prefix`, within [min, max]; a forged one is a failed parse, never a throw. */
const numberAfter = (prefix: string, min: number, max: number) =>
  z.string().transform((s, ctx) => {
    const n = s.startsWith(prefix) ? Number(s.slice(prefix.length)) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: 'press' });
      return z.NEVER;
    }
    return n;
  });
export const paperBuildingPress = numberAfter('cq.b.', 1, Number.MAX_SAFE_INTEGER);
export const paperHouseholdPress = numberAfter('cq.h.', 1, Number.MAX_SAFE_INTEGER);
export const paperOptionPress = numberAfter('cq.o.', 0, 8);
