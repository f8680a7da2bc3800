import { z } from 'zod';
import { actionId } from '../dialog/flow.js';
import { AUDIENCE_GROUPS } from '../audience/groups.js';
import { NOTICE_CATEGORIES } from './rules.js';

/**
 * Every button id of the notice flows, in one place: the builders the flows render with and the
 * zod parsers their steps read presses with, so an id can't be written one way and read another.
 * Ids of the form `<prefix>:<arg>` are actions (work from anywhere); the others belong to a step.
 */

export const MENU = {
  recent: 'menu.notices',
  prefs: 'menu.noticePrefs',
  groups: 'menu.noticeGroups',
  compose: 'menu.noticeCompose',
  mine: 'menu.noticeMine',
} as const;

/** Action prefixes (src/dialog/flow.ts `actions`). */
export const ACTION = { read: 'nr', manage: 'nm', correct: 'nc', withdraw: 'nw', unread: 'nu' } as const;

/** 收到 under a notice. */
export const readButton = (noticeId: string) => actionId(ACTION.read, noticeId);
export const manageButton = (noticeId: string) => actionId(ACTION.manage, noticeId);
export const correctButton = (noticeId: string) => actionId(ACTION.correct, noticeId);
export const withdrawButton = (noticeId: string) => actionId(ACTION.withdraw, noticeId);
export const unreadButton = (noticeId: string) => actionId(ACTION.unread, noticeId);

/** Compose flow (发布通知) buttons. */
export const COMPOSE = {
  pick: (unitId: number) => `ns.pick.${unitId}`,
  into: (unitId: number) => `ns.into.${unitId}`,
  /** After a pick: another area, or done picking. */
  moreAreas: 'ns.area.more',
  areasDone: 'ns.area.done',
  category: (c: (typeof NOTICE_CATEGORIES)[number]) => `ns.cat.${c}`,
  group: (g: (typeof AUDIENCE_GROUPS)[number] | 'all') => `ns.grp.${g}`,
  skip: 'ns.skip',
  now: 'ns.now',
  later: 'ns.later',
  send: 'ns.send',
  cancel: 'ns.cancel',
} as const;

/** The unit id after `prefix`; a forged one (not a positive integer) is a failed parse, never a throw. */
const unitAfter = (prefix: string) =>
  z
    .string()
    .startsWith(prefix)
    .transform((s) => s.slice(prefix.length))
    .pipe(z.coerce.number<string>().int().positive());
/** A press in the scope step: pick this unit, or open it to pick inside. */
export const scopePress = z.union([unitAfter('ns.pick.').transform((pick) => ({ pick })), unitAfter('ns.into.').transform((into) => ({ into }))]);
export const areaPress = z.enum([COMPOSE.moreAreas, COMPOSE.areasDone]).transform((s) => (s === COMPOSE.moreAreas ? ('more' as const) : ('done' as const)));
export const categoryPress = z.templateLiteral(['ns.cat.', z.enum(NOTICE_CATEGORIES)]).transform((s) => s.slice(7) as (typeof NOTICE_CATEGORIES)[number]);
export const groupPress = z.templateLiteral(['ns.grp.', z.enum([...AUDIENCE_GROUPS, 'all'])]).transform((s) => s.slice(7) as (typeof AUDIENCE_GROUPS)[number] | 'all');

/** Preferences (通知设置) and groups (我的群体) toggles. */
export const PREFS = { toggle: (c: (typeof NOTICE_CATEGORIES)[number]) => `np.t.${c}`, done: 'np.done' } as const;
export const prefPress = z.templateLiteral(['np.t.', z.enum(NOTICE_CATEGORIES)]).transform((s) => s.slice(5) as (typeof NOTICE_CATEGORIES)[number]);
export const GROUPS = { toggle: (g: (typeof AUDIENCE_GROUPS)[number]) => `ng.t.${g}`, done: 'ng.done' } as const;
export const groupTogglePress = z.templateLiteral(['ng.t.', z.enum(AUDIENCE_GROUPS)]).transform((s) => s.slice(5) as (typeof AUDIENCE_GROUPS)[number]);
