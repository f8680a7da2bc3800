import { actionId } from '../dialog/flow.js';
import type { Messages } from '../i18n/index.js';

/**
 * Every button id of the activity flows in one place. Ids of the form `<prefix>:<arg>` are actions
 * (they work from anywhere: an offer arrives while the person is elsewhere in the chat).
 */
export const MENU = { browse: 'menu.activities', mine: 'menu.myActivities', checkin: 'menu.activityCheckin', create: 'menu.activityCreate' } as const;

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

export const offerChoices = (t: Messages, signupId: string) => [
  { id: actionId(ACTION.confirmOffer, signupId), label: t.activities.confirmSeat },
  { id: actionId(ACTION.declineOffer, signupId), label: t.activities.declineSeat },
];

export const signUpButton = (sessionId: string) => actionId(ACTION.signUp, sessionId);
export const cancelButton = (signupId: string) => actionId(ACTION.cancel, signupId);
export const rateButton = (signupId: string, stars: number) => actionId(ACTION.rate, `${signupId}.${stars}`);
