import { actionId } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';

/**
 * Every button id of the activity flows in one place. Ids of the form `<prefix>:<arg>` are actions
 * (they work from anywhere: an offer arrives while the person is elsewhere in the chat).
 */
export const MENU = { browse: 'menu.activities', mine: 'menu.myActivities', checkin: 'menu.activityCheckin', create: 'menu.activityCreate', manage: 'menu.activityManage' } as const;

export const ACTION = {
  /** 确认候补名额 / 放弃 */
  confirmOffer: 'ao',
  declineOffer: 'ad',
  /** A session in the list: sign up for it. */
  signUp: 'as',
  /** One of my sign-ups: cancel it. */
  cancel: 'ac',
  /** Rate a session I came to: `ar:<signupId>.<1-5>`. */
  rate: 'ar',
} as const;

/** 活动管理 (organisers): actions on one activity or session (`<prefix>:<id>`, they work from anywhere). */
export const MANAGE = {
  /** An activity I organise: its sessions, attendance, ratings, repeated no-shows. */
  show: 'am',
  /** One session's roster, with 到场 buttons. */
  roster: 'an',
  /** Mark a confirmed sign-up present (人工签到). */
  present: 'ap',
  /** 四点半课堂: the children and guardians (audited). */
  children: 'ak',
  /** 服务进社区 coverage of my area. */
  coverage: 'av',
} as const;

export const manageButton = (kind: keyof typeof MANAGE, arg: string) => actionId(MANAGE[kind], arg);

export const offerChoices = (t: Messages, signupId: string) => [
  { id: actionId(ACTION.confirmOffer, signupId), label: t.activities.confirmSeat },
  { id: actionId(ACTION.declineOffer, signupId), label: t.activities.declineSeat },
];

export const signUpButton = (sessionId: string) => actionId(ACTION.signUp, sessionId);
export const cancelButton = (signupId: string) => actionId(ACTION.cancel, signupId);
export const rateButton = (signupId: string, stars: number) => actionId(ACTION.rate, `${signupId}.${stars}`);
