import type { Locale } from '../config.js';
import type { InboundPayload } from './events.js';
import type { Flow, FlowContext, MenuEntry, PersonView, Say, StepOutcome } from './flow.js';
import type { CommandMatch, GlobalCommand, Interpretation } from './input.js';
import { MENU_HOME, MENU_SECTIONS, type MenuSection, mainMenuChoices, sectionChoices, sectionOfChoice, visibleEntries } from './menu.js';
import { HISTORY_LIMIT, idle, isIdle, type SavedState } from './state.js';

/** What the engine knows about its flows, built once in createDialog. */
export interface Rules {
  entryFlow: string;
  isOnboarded(person: PersonView): boolean;
  /** Flows usable before onboarding is finished (the entry flow included). */
  open: Set<string>;
  flows: Map<string, Flow>;
  actions: Map<string, Flow>;
  menu: (MenuEntry & { flow: string })[];
}

/** How many `goto`s one message may chain before we call it a bug (a flow sending to itself). */
const MAX_HOPS = 8;

/**
 * Runs one message through commands, the onboarding gate, actions and the current step.
 * Replies go to `out`. Returns the state to save, or undefined when the message was refused
 * (too long, unreadable, number out of range): then nothing but the refusal happens.
 */
export async function runTurn(
  rules: Rules,
  ctx: FlowContext,
  input: Interpretation,
  current: SavedState,
  out: { say: Say; locale: Locale }[],
): Promise<{ state: SavedState; keepChoices: boolean } | undefined> {
  const person = ctx.person;
  let hops = 0;
  let keepChoices = false;

  const say = (s: Say) => void out.push({ say: s, locale: person.locale });
  const onboarded = () => rules.isOnboarded(person);
  const visibleMenu = () => visibleEntries(rules.menu, person);

  const showMenu = (): SavedState => {
    const choices = mainMenuChoices(visibleMenu(), ctx.t);
    say({ text: ctx.t.dialog.menuTitle, choices: choices.length ? choices : undefined });
    return idle();
  };

  /** A section's sub-menu; the person stays at the menu (idle), so its numbers are menu choices. */
  const showSection = (section: MenuSection): SavedState => {
    const choices = sectionChoices(visibleMenu(), section, ctx.t);
    if (!choices.length) return showMenu();
    say({
      text: ctx.t.dialog.sectionTitle({ section: MENU_SECTIONS[section].label(ctx.t) }),
      choices,
    });
    return idle();
  };

  /** A command not open before onboarding: back to the prompts of the onboarding step they are at. */
  const resumeEntry = async (state: SavedState): Promise<SavedState> => {
    if (state.flow === rules.entryFlow && state.prompts.length) {
      for (const p of state.prompts) say(p);
      return state;
    }
    return startFlow(rules.entryFlow);
  };

  /** Outside a flow: the main menu, or onboarding (from its start) for those who have not finished it. */
  const home = () => (onboarded() ? showMenu() : startFlow(rules.entryFlow));

  const apply = async (flowName: string, outcome: StepOutcome, from: SavedState | null, mark: number): Promise<SavedState> => {
    if ('goto' in outcome) return startFlow(outcome.goto, outcome.args);
    if ('done' in outcome) {
      if (outcome.silent) return idle();
      return onboarded() ? showMenu() : startFlow(rules.entryFlow);
    }
    const data = outcome.data ?? {};
    const sameFlow = from !== null && from.flow === flowName;
    // A step that asks again with the same data (an invalid answer) is not a new step, so 返回
    // skips past it; the same step with new data (next level of a list) is one.
    const asksAgain = sameFlow && from.step === outcome.next && JSON.stringify(from.data) === JSON.stringify(data);
    const shown = out.slice(mark).map((o) => o.say);
    const history = asksAgain ? from.history : sameFlow ? [...from.history, { step: from.step, data: from.data, prompts: from.prompts }] : [];
    return {
      flow: flowName,
      step: outcome.next,
      data,
      prompts: shown.length ? shown : asksAgain ? from.prompts : [],
      history: history.slice(-HISTORY_LIMIT),
    };
  };

  const startFlow = async (name: string, args?: Record<string, unknown>): Promise<SavedState> => {
    if (++hops > MAX_HOPS) throw new Error(`flow ${name}: too many goto hops in one message`);
    const flow = rules.flows.get(name);
    if (!flow) throw new Error(`flow ${name} is not registered`);
    const mark = out.length;
    return apply(name, await flow.start(ctx, args), null, mark);
  };

  const runGlobal = async (command: GlobalCommand, state: SavedState): Promise<SavedState> => {
    switch (command) {
      case 'help': {
        keepChoices = true;
        const entries = onboarded() ? visibleMenu() : [];
        const lines = mainMenuChoices(entries, ctx.t);
        say({
          // Every entry is listed, those in a section too; the buttons are the main menu's.
          text: ctx.t.dialog.help({ menu: entries.map((m) => `· ${m.label(ctx.t)}`).join('\n') }).trimEnd(),
          // In the main menu the menu buttons stay usable; inside a flow the step's choices do.
          choices: isIdle(state) && lines.length ? lines : undefined,
        });
        return state;
      }
      case 'back': {
        const previous = state.history.at(-1);
        if (!previous) return home();
        say({ text: ctx.t.dialog.back });
        for (const p of previous.prompts) say(p);
        return { ...state, step: previous.step, data: previous.data, prompts: previous.prompts, history: state.history.slice(0, -1) };
      }
      case 'cancel':
        if (!isIdle(state)) say({ text: ctx.t.dialog.cancelled });
        return home();
      case 'menu':
        return home();
    }
  };

  const runCommand = async (match: CommandMatch, state: SavedState): Promise<SavedState> => {
    if ('command' in match) return runGlobal(match.command, state);
    // A flow's own command (语言, /mydata, /staff CODE …). Before onboarding only the open ones work.
    if (!onboarded() && !rules.open.has(match.flow)) return resumeEntry(state);
    return startFlow(match.flow, match.argument === undefined ? undefined : { argument: match.argument });
  };

  const dispatch = async (payload: InboundPayload, state: SavedState): Promise<SavedState> => {
    if (!onboarded() && !rules.open.has(state.flow)) return startFlow(rules.entryFlow);
    if (payload.kind === 'choice' && onboarded()) {
      const colon = payload.choice.indexOf(':');
      const prefix = colon > 0 ? payload.choice.slice(0, colon) : '';
      const owner = rules.actions.get(prefix);
      const action = owner?.actions?.[prefix];
      if (owner && action) {
        const mark = out.length;
        const outcome = await action(ctx, payload.choice.slice(colon + 1));
        if (outcome) return apply(owner.name, outcome, state.flow === owner.name ? state : null, mark);
        // No outcome: the person stays where they were (a card button pressed mid-flow), and the
        // step's choices stay answerable by number unless the action offered new ones.
        keepChoices = true;
        return state;
      }
      const entry = rules.menu.find((m) => m.id === payload.choice);
      if (entry && entry.visible(person)) return startFlow(entry.flow);
      if (payload.choice === MENU_HOME) return showMenu();
      const section = sectionOfChoice(payload.choice);
      if (section) return showSection(section);
    }
    const flow = rules.flows.get(state.flow);
    const step = flow?.steps[state.step];
    if (!flow || !step) {
      // Many residents type rather than tap: a flow may take up plain text typed at the menu.
      if (payload.kind === 'text' && isIdle(state) && onboarded()) {
        for (const f of rules.flows.values()) {
          const mark = out.length;
          const outcome = await f.fromIdleText?.(ctx, payload.text);
          if (outcome) return apply(f.name, outcome, null, mark);
        }
      }
      // Idle, or a step that no longer exists after an upgrade.
      say({ text: ctx.t.dialog.notUnderstood });
      return home();
    }
    const mark = out.length;
    return apply(flow.name, await step(ctx, payload, state.data), state, mark);
  };

  switch (input.kind) {
    case 'unsupported':
      say({ text: ctx.t.dialog.unsupported({ what: input.what }) });
      return undefined;
    case 'problem': {
      const t = ctx.t.dialog;
      say({ text: input.problem === 'tooLong' ? t.tooLong({ max: ctx.config.maxTextLength }) : input.problem === 'binary' ? t.binary : t.empty });
      return undefined;
    }
    case 'outOfRange':
      say({ text: ctx.t.dialog.numberOutOfRange({ max: input.choices.length }), choices: input.choices });
      return undefined;
    case 'command':
    case 'input': {
      const before = out.length;
      const state = input.kind === 'command' ? await runCommand(input.match, current) : await dispatch(input.payload, current);
      // Never silence: a step or action that said nothing gets a hint and its prompts again.
      if (out.length === before) {
        say({ text: ctx.t.dialog.notUnderstood });
        if (!isIdle(state)) for (const p of state.prompts) say(p);
        else if (onboarded()) showMenu();
        keepChoices = true;
      }
      return { state, keepChoices };
    }
  }
}
