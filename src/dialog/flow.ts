import type { MenuSection } from './menu.js';
import type { CodeAttempts } from '../limits/attempts.js';
import type { UnitOfWork } from '../work/unit.js';
import type { Tx } from '../../db/client.js';
import type { Config, Locale } from '../config.js';
import type { Messages } from '../i18n/index.js';
import type { Logger } from '../log.js';
import type { StaffRole, SubCommittee } from '../staff/codes.js';
import type { Channel, InboundPayload } from './events.js';
import type { Reply } from './reply.js';

/**
 * The contract between the dialog engine (src/dialog/engine.ts) and the flows that modules
 * register (onboarding, cases, …). A flow is a small state machine: each step parses the input
 * (with zod where it is more than a choice id), does its work through commands that take `ctx.tx`,
 * queues replies, and says where the conversation goes next. The engine persists the step in
 * dialog_states, so a conversation survives restarts.
 */

export interface StaffAssignment {
  id: number;
  role: StaffRole;
  orgUnitId: number;
  subCommittee: SubCommittee | null;
  onLeave: boolean;
}

/** The person behind the current message, as the engine loaded it inside the transaction. */
export interface PersonView {
  id: string;
  locale: Locale;
  householdId: number | null;
  householdStatus: 'none' | 'pending' | 'bound';
  /** A current (not withdrawn) consent exists. */
  consented: boolean;
  /** Active staff assignments; empty for residents. */
  staff: StaffAssignment[];
}

export interface IdentityView {
  id: string;
  channel: Channel;
  userRef: string;
  chatRef: string;
}

/** A reply before the engine stamps the recipient's locale on it. */
export type Say = Omit<Reply, 'locale'>;

export interface FlowContext {
  readonly tx: Tx;
  readonly config: Config;
  readonly logger: Logger;
  readonly now: Date;
  /** Updated in place by flows that change it (language switch, household binding). */
  readonly person: PersonView;
  readonly identity: IdentityView;
  /** Messages in the person's current locale (re-read after a language switch). */
  readonly t: Messages;
  /** The key of the inbound message being handled, e.g. `telegram:123456` (use for idempotent intake). */
  readonly messageKey: string;
  /** Queues a reply to the current chat (outbox row, same transaction). */
  reply(say: Say): void;
  /**
   * Queues a message to another person on every channel they use (or only `channel`), in their
   * locale. Choices sent this way become that chat's "last choices shown", so a bare number
   * answers them on WeChat.
   */
  notify(personId: string, build: (t: Messages, locale: Locale) => Say, opts?: { channel?: Channel }): Promise<void>;
  /**
   * Runs after the transaction commits (e.g. schedule a routing job or a deadline timer). Best
   * effort: work queued here must also be found by a sweep, because a crash right after commit
   * skips it.
   */
  afterCommit(work: () => Promise<void>): void;
  /** Wrong-code counters (staff, invite, link, follow) shared across processes and sessions. */
  readonly attempts: CodeAttempts;
  /**
   * This message's unit of work (src/work/unit.ts): the same transaction as `tx`; queue outbox
   * rows, arm timers, start jobs after commit. `notify` and `afterCommit` are shorthands of it.
   */
  readonly uow: UnitOfWork;
  /** 操作留痕: one audit_log row (ids only). */
  audit(action: string, subjectType: string, subjectId: string, details?: Record<string, unknown>): Promise<void>;
}

/** Where the conversation goes after a step. */
export type StepOutcome =
  /** Stay in this flow; the next input goes to `step`, with `data` as the flow's saved state. */
  | { next: string; data?: Record<string, unknown> }
  /** Start another flow (its `start`), e.g. onboarding → menu. */
  | { goto: string; args?: Record<string, unknown> }
  /** The flow is finished: the engine shows the main menu. */
  | { done: true; silent?: boolean };

export type StepHandler = (
  ctx: FlowContext,
  input: InboundPayload,
  data: Record<string, unknown>,
) => Promise<StepOutcome>;

export interface MenuEntry {
  /** Choice id of the menu button, unique across flows, e.g. `menu.report`. */
  id: string;
  label(t: Messages): string;
  /** Whether this person sees it (resident bound to a household, staff role, …). */
  visible(person: PersonView): boolean;
  /** Lower comes first. */
  order: number;
  /** The main-menu section it belongs to (src/dialog/menu.ts); none: a line of its own. */
  section?: MenuSection;
}

export interface Flow {
  name: string;
  /** The flow's entry point; `args` come from a `goto` or an action. */
  start(ctx: FlowContext, args?: Record<string, unknown>): Promise<StepOutcome>;
  steps: Record<string, StepHandler>;
  /** Main-menu entries that start this flow. */
  menu?: MenuEntry[];
  /**
   * Buttons that work from anywhere, outside the current step: choice ids of the form
   * `<prefix>:<arg>` (e.g. `ca:<caseId>` on a worker's case card). The handler gets the arg.
   */
  actions?: Record<string, (ctx: FlowContext, arg: string) => Promise<StepOutcome | void>>;
  /**
   * Typed commands that start this flow from anywhere, e.g. `['/mydata', '我的数据']` or
   * `['/staff']` with `takesArgument` (the rest of the text is passed as `args.argument`).
   * Matching ignores case and surrounding spaces.
   */
  commands?: { words: string[]; takesArgument?: boolean };
  /** Steps that ask for a photo: the only places a channel accepts an upload (web chat). */
  photoSteps?: string[];
  /**
   * Plain text typed at the main menu that is no command: a flow may take it up (报事 offers to
   * report it). Undefined when it does not; the engine then says it did not understand.
   */
  fromIdleText?: (ctx: FlowContext, text: string) => Promise<StepOutcome | undefined>;
}

/** Builds an action choice id; ≤ 64 characters so it fits Telegram callback data. */
export function actionId(prefix: string, arg: string): string {
  const id = `${prefix}:${arg}`;
  if (id.length > 64) throw new Error(`action id too long: ${prefix}`);
  return id;
}
