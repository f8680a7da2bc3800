import { and, eq, isNull, sql } from 'drizzle-orm';
import { auditLog, channelIdentities, consents, dialogStates, inboundMessages, people, staffAssignments } from '../../db/schema/index.js';
import type { Database, Tx } from '../../db/client.js';
import { LOCALES, type Config, type Locale } from '../config.js';
import { messages, type Messages } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { notifyPerson } from '../outbox/notify.js';
import { queueMessages, type DeliveryQueue, type QueuedMessage } from '../outbox/outbox.js';
import { inboundEventSchema, type InboundEvent, type InboundPayload } from './events.js';
import type { Flow, FlowContext, IdentityView, PersonView, Say, StepOutcome } from './flow.js';
import { matchGlobalCommand, parseNumber, textProblem } from './input.js';

export type HandleResult = 'handled' | 'duplicate' | 'invalid';

export interface DialogDeps {
  database: Database;
  delivery: DeliveryQueue;
  config: Config;
  logger: Logger;
  flows: Flow[];
  /** Where a person who is not yet onboarded is sent. */
  entryFlow?: string;
  isOnboarded?: (person: PersonView) => boolean;
}

/** The engine's saved state for one chat; `history` is what 返回 walks back through. */
interface SavedState {
  flow: string;
  step: string;
  data: Record<string, unknown>;
  /** The prompts shown when this step was entered, re-sent by 返回. */
  prompts: Say[];
  history: { step: string; data: Record<string, unknown>; prompts: Say[] }[];
}

const IDLE: SavedState = { flow: 'menu', step: 'idle', data: {}, prompts: [], history: [] };
const HISTORY_LIMIT = 10;

/**
 * The channel-agnostic dialog engine: one inbound event → one transaction that records the event
 * (the duplicate guard), runs the person's current flow step and writes the replies to the outbox;
 * delivery is enqueued after commit.
 */
export function createDialog(deps: DialogDeps) {
  const entryFlow = deps.entryFlow ?? 'onboarding';
  const isOnboarded = deps.isOnboarded ?? ((p: PersonView) => p.consented);
  const flows = new Map(deps.flows.map((f) => [f.name, f]));
  const actions = new Map<string, Flow>();
  for (const f of deps.flows) for (const prefix of Object.keys(f.actions ?? {})) actions.set(prefix, f);
  const menuEntries = deps.flows.flatMap((f) => (f.menu ?? []).map((m) => ({ ...m, flow: f.name })));

  async function handle(raw: unknown): Promise<HandleResult> {
    const parsed = inboundEventSchema.safeParse(raw);
    if (!parsed.success) {
      deps.logger.warn({ issues: parsed.error.issues.length }, 'inbound event rejected');
      return 'invalid';
    }
    const event = parsed.data;
    const log = deps.logger.child({ channel: event.channel, messageRef: event.messageRef });
    let queued: QueuedMessage[] = [];
    let result: HandleResult;
    try {
      result = await deps.database.db.transaction(async (tx) => {
        const out = await processEvent(tx, event, log);
        queued = out.queued;
        return out.result;
      });
    } catch (err) {
      log.error({ err }, 'dialog step failed; answering with an apology');
      result = await deps.database.db.transaction(async (tx) => {
        if (!(await recordInbound(tx, event))) return 'duplicate';
        const { identity, person } = await loadIdentity(tx, event);
        queued = await queueMessages(tx, [
          { to: recipientOf(identity), reply: { locale: person.locale, text: messages(person.locale).common.apology } },
        ]);
        return 'handled';
      });
    }
    if (queued.length) {
      await deps.delivery.enqueue(queued).catch((err) => log.warn({ err }, 'enqueue failed; the outbox sweep will retry'));
    }
    return result;
  }

  async function recordInbound(tx: Tx, event: InboundEvent): Promise<boolean> {
    // One person's messages are handled one at a time, so steps never interleave.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`${event.channel}:${event.userRef}`}))`);
    const inserted = await tx
      .insert(inboundMessages)
      .values({ channel: event.channel, messageRef: event.messageRef })
      .onConflictDoNothing()
      .returning({ ref: inboundMessages.messageRef });
    return inserted.length > 0;
  }

  async function loadIdentity(tx: Tx, event: InboundEvent): Promise<{ identity: IdentityView; person: PersonView }> {
    let [row] = await tx
      .select()
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, event.channel), eq(channelIdentities.userRef, event.userRef)));
    if (!row) {
      const hinted = LOCALES.find((l) => event.languageHint?.toLowerCase().startsWith(l.slice(0, 2).toLowerCase()));
      const [person] = await tx
        .insert(people)
        .values({ locale: hinted ?? deps.config.defaultLocale })
        .returning({ id: people.id });
      [row] = await tx
        .insert(channelIdentities)
        .values({ personId: person!.id, channel: event.channel, userRef: event.userRef, chatRef: event.chatRef })
        .returning();
    } else {
      // Writing again means they unblocked us; the chat may have moved (web sessions).
      [row] = await tx
        .update(channelIdentities)
        .set({ chatRef: event.chatRef, lastSeenAt: new Date(), blockedAt: null })
        .where(eq(channelIdentities.id, row.id))
        .returning();
    }
    const identity = { id: row!.id, channel: row!.channel, userRef: row!.userRef, chatRef: row!.chatRef };
    return { identity, person: await loadPerson(tx, row!.personId) };
  }

  async function processEvent(tx: Tx, event: InboundEvent, log: Logger): Promise<{ result: HandleResult; queued: QueuedMessage[] }> {
    if (!(await recordInbound(tx, event))) return { result: 'duplicate', queued: [] };
    const { identity, person } = await loadIdentity(tx, event);
    const [stateRow] = await tx.select().from(dialogStates).where(eq(dialogStates.identityId, identity.id));
    let state = toState(stateRow);
    const choicesShown = stateRow?.choices ?? [];

    const replies: Say[] = [];
    const notified: QueuedMessage[] = [];
    const ctx: FlowContext = {
      tx,
      config: deps.config,
      logger: log.child({ identityId: identity.id, personId: person.id }),
      now: new Date(),
      person,
      identity,
      get t(): Messages {
        return messages(person.locale);
      },
      messageKey: `${event.channel}:${event.messageRef}`,
      reply: (say) => void replies.push(say),
      notify: async (personId, build, opts) => void notified.push(...(await notifyPerson(tx, personId, build, opts))),
      audit: async (action, subjectType, subjectId, details = {}) => {
        await tx.insert(auditLog).values({ actorId: person.id, action, subjectType, subjectId, details });
      },
    };

    const showMenu = () => {
      const entries = menuEntries.filter((m) => m.visible(person)).sort((a, b) => a.order - b.order);
      replies.push({ text: ctx.t.dialog.menuTitle, choices: entries.map((m) => ({ id: m.id, label: m.label(ctx.t) })) });
      return { ...IDLE };
    };

    /** Applies a flow's outcome; returns the state to save. */
    const apply = async (flowName: string, outcome: StepOutcome, from: SavedState | null, mark: number): Promise<SavedState> => {
      if ('goto' in outcome) return startFlow(outcome.goto, outcome.args);
      if ('done' in outcome) {
        if (outcome.silent) return { ...IDLE };
        return showMenu();
      }
      const prompts = replies.slice(mark);
      const history =
        from && from.flow === flowName ? [...from.history, { step: from.step, data: from.data, prompts: from.prompts }] : [];
      return { flow: flowName, step: outcome.next, data: outcome.data ?? {}, prompts, history: history.slice(-HISTORY_LIMIT) };
    };

    const startFlow = async (name: string, args?: Record<string, unknown>): Promise<SavedState> => {
      const flow = flows.get(name);
      if (!flow) return showMenu();
      const mark = replies.length;
      return apply(name, await flow.start(ctx, args), null, mark);
    };

    const input = await interpret(event, choicesShown, ctx, replies);
    if (input.kind === 'answered') {
      // Nothing else changes: the refusal only; the state (and its choices) stays as it was.
    } else if (input.kind === 'command') {
      state = await runCommand(input.command, input.argument, state);
    } else if (!isOnboarded(person) && state.flow !== entryFlow) {
      state = await startFlow(entryFlow);
    } else {
      state = await dispatch(input.payload, state);
    }

    async function runCommand(command: string, argument: string | undefined, current: SavedState): Promise<SavedState> {
      const onboarding = !isOnboarded(person);
      switch (command) {
        case 'help': {
          const entries = menuEntries.filter((m) => m.visible(person)).sort((a, b) => a.order - b.order);
          replies.push({
            text: ctx.t.dialog.help({ menu: entries.map((m) => `· ${m.label(ctx.t)}`).join('\n') }),
            choices: current.flow === 'menu' ? entries.map((m) => ({ id: m.id, label: m.label(ctx.t) })) : undefined,
          });
          return current;
        }
        case 'back': {
          const previous = current.history.at(-1);
          if (!previous) return onboarding ? startFlow(entryFlow) : showMenu();
          replies.push({ text: ctx.t.dialog.back }, ...previous.prompts);
          return { ...current, step: previous.step, data: previous.data, prompts: previous.prompts, history: current.history.slice(0, -1) };
        }
        case 'cancel':
          replies.push({ text: ctx.t.dialog.cancelled });
          return onboarding ? startFlow(entryFlow) : showMenu();
        case 'menu':
          return onboarding ? startFlow(entryFlow) : showMenu();
        default: {
          // A flow's own command (/mydata, 语言, /staff CODE …). Before onboarding only the
          // language and privacy commands work; anything else continues onboarding.
          const flow = flows.get(command);
          if (!flow) return showMenu();
          if (onboarding && !ONBOARDING_COMMANDS.has(flow.name)) return startFlow(entryFlow);
          return startFlow(flow.name, argument === undefined ? undefined : { argument });
        }
      }
    }

    async function dispatch(payload: InboundPayload, current: SavedState): Promise<SavedState> {
      if (payload.kind === 'choice') {
        const colon = payload.choice.indexOf(':');
        const owner = colon > 0 ? actions.get(payload.choice.slice(0, colon)) : undefined;
        if (owner) {
          const prefix = payload.choice.slice(0, colon);
          const mark = replies.length;
          const outcome = await owner.actions![prefix]!(ctx, payload.choice.slice(colon + 1));
          return outcome ? apply(owner.name, outcome, null, mark) : current;
        }
        const entry = menuEntries.find((m) => m.id === payload.choice);
        if (entry && entry.visible(person)) return startFlow(entry.flow);
      }
      const flow = flows.get(current.flow);
      const step = flow?.steps[current.step];
      if (!flow || !step) {
        if (payload.kind === 'text' || payload.kind === 'choice') replies.push({ text: ctx.t.dialog.notUnderstood });
        return showMenu();
      }
      const mark = replies.length;
      return apply(flow.name, await step(ctx, payload, current.data), current, mark);
    }

    // A refusal keeps the choices on screen; anything else replaces them with what it showed.
    const saved = fromState(identity.id, state, replies, input.kind === 'answered' ? choicesShown : []);
    await tx
      .insert(dialogStates)
      .values(saved)
      .onConflictDoUpdate({ target: dialogStates.identityId, set: saved });

    const own = await queueMessages(
      tx,
      replies.map((say) => ({ to: recipientOf(identity), reply: { ...say, locale: person.locale } })),
    );
    return { result: 'handled', queued: [...own, ...notified] };
  }

  /** Turns the raw payload into a command, a refusal already answered, or input for the flow. */
  async function interpret(
    event: InboundEvent,
    choicesShown: { id: string; label: string }[],
    ctx: FlowContext,
    replies: Say[],
  ): Promise<
    | { kind: 'answered' }
    | { kind: 'command'; command: string; argument?: string }
    | { kind: 'input'; payload: InboundPayload }
  > {
    const t = ctx.t;
    if (event.kind === 'unsupported') {
      replies.push({ text: t.dialog.unsupported({ what: event.what }) });
      return { kind: 'answered' };
    }
    if (event.kind !== 'text') return { kind: 'input', payload: event };
    const problem = textProblem(event.text, deps.config.maxTextLength);
    if (problem) {
      replies.push({
        text:
          problem === 'tooLong'
            ? t.dialog.tooLong({ max: deps.config.maxTextLength })
            : problem === 'binary'
              ? t.dialog.binary
              : t.dialog.empty,
      });
      return { kind: 'answered' };
    }
    const text = event.text.trim();
    const command = matchGlobalCommand(text, deps.flows);
    if (command) return { kind: 'command', ...command };
    const n = parseNumber(text);
    if (n !== undefined) {
      if (choicesShown.length === 0) {
        // A bare number can still be real input (a room number, an amount): let the step decide.
        return { kind: 'input', payload: { kind: 'text', text } };
      }
      const choice = choicesShown[n - 1];
      if (!choice) {
        replies.push({ text: t.dialog.numberOutOfRange({ max: choicesShown.length }), choices: choicesShown });
        return { kind: 'answered' };
      }
      return { kind: 'input', payload: { kind: 'choice', choice: choice.id } };
    }
    return { kind: 'input', payload: { kind: 'text', text } };
  }

  return { handle };
}

function recipientOf(identity: IdentityView) {
  return { identityId: identity.id, channel: identity.channel, chatRef: identity.chatRef };
}

/** Flows a person may open before finishing onboarding. */
const ONBOARDING_COMMANDS = new Set(['language', 'privacy']);

function toState(row: typeof dialogStates.$inferSelect | undefined): SavedState {
  if (!row) return { ...IDLE };
  const { __prompts, __history, ...data } = row.data as Record<string, unknown>;
  return {
    flow: row.flow,
    step: row.step,
    data,
    prompts: (__prompts as Say[] | undefined) ?? [],
    history: (__history as SavedState['history'] | undefined) ?? [],
  };
}

function fromState(identityId: string, state: SavedState, replies: Say[], fallbackChoices: { id: string; label: string }[]) {
  // The last reply that offered choices is what a bare number answers next time.
  const lastWithChoices = [...replies].reverse().find((r) => r.choices?.length);
  return {
    identityId,
    flow: state.flow,
    step: state.step,
    data: { ...state.data, __prompts: state.prompts, __history: state.history },
    choices: lastWithChoices?.choices ?? fallbackChoices,
    updatedAt: new Date(),
  };
}

/** Loads what flows may know about a person. */
export async function loadPerson(tx: Tx, personId: string): Promise<PersonView> {
  const [p] = await tx.select().from(people).where(eq(people.id, personId));
  if (!p) throw new Error(`person ${personId} vanished`);
  const [consent] = await tx
    .select({ id: consents.id })
    .from(consents)
    .where(and(eq(consents.personId, personId), isNull(consents.withdrawnAt)))
    .limit(1);
  const staff = await tx
    .select({
      id: staffAssignments.id,
      role: staffAssignments.role,
      orgUnitId: staffAssignments.orgUnitId,
      subCommittee: staffAssignments.subCommittee,
      onLeave: staffAssignments.onLeave,
    })
    .from(staffAssignments)
    .where(and(eq(staffAssignments.personId, personId), eq(staffAssignments.active, true)));
  return {
    id: p.id,
    locale: p.locale as Locale,
    householdId: p.householdId,
    householdStatus: p.householdStatus,
    consented: consent !== undefined,
    staff,
  };
}

export type Dialog = ReturnType<typeof createDialog>;
