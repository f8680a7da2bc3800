import type { InboundEvent, InboundPayload } from './events.js';
import type { Flow } from './flow.js';
import type { Choice } from './reply.js';

/** Pure input rules of the dialog engine: what a raw message means before any flow sees it. */

export type TextProblem = 'tooLong' | 'binary' | 'empty';

// Control characters other than tab/newline/CR, and the replacement character a broken decoder
// leaves behind: what arrives when someone pastes a binary file.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFD]/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function textProblem(text: string, maxLength: number): TextProblem | undefined {
  // Code points, not UTF-16 units: 一个汉字 or an emoji counts once.
  if ([...text].length > maxLength) return 'tooLong';
  if (CONTROL.test(text) || LONE_SURROGATE.test(text)) return 'binary';
  if (text.trim() === '') return 'empty';
  return undefined;
}

/**
 * "1", " 2 ", full-width "３" → the number (0 included, so it can be refused as out of range);
 * anything else, including long numbers such as a room number "1201", → undefined.
 */
export function parseNumber(text: string): number | undefined {
  const ascii = text.trim().replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  if (!/^\d{1,2}$/.test(ascii)) return undefined;
  return Number(ascii);
}

export type GlobalCommand = 'menu' | 'back' | 'help' | 'cancel';

/** Words that work from anywhere, in every language we speak. */
export const GLOBAL_COMMANDS: Record<GlobalCommand, string[]> = {
  menu: ['菜单', '主菜单', 'menu', '메뉴', '/start', '/menu'],
  back: ['返回', '上一步', 'back', '뒤로', '/back'],
  help: ['帮助', 'help', '도움말', '/help', '?', '？'],
  cancel: ['取消', 'cancel', '취소', '/cancel'],
};

export type CommandMatch = { command: GlobalCommand } | { flow: string; argument?: string };

/**
 * Matches a global command or a flow's own command. Words compare case-insensitively after
 * trimming; a flow command with `takesArgument` also matches as a prefix followed by a space
 * (`/staff S-ABCD-EFGH`), the rest being the argument with its case kept.
 */
export function matchCommand(text: string, flows: readonly Flow[]): CommandMatch | undefined {
  const trimmed = text.trim();
  const lower = trimmed.toLowerCase();
  for (const [command, words] of Object.entries(GLOBAL_COMMANDS) as [GlobalCommand, string[]][]) {
    if (words.includes(lower)) return { command };
  }
  for (const flow of flows) {
    if (!flow.commands) continue;
    for (const word of flow.commands.words) {
      const w = word.trim().toLowerCase();
      if (lower === w) return { flow: flow.name };
      if (flow.commands.takesArgument && (lower.startsWith(`${w} `) || lower.startsWith(`${w}\u3000`))) {
        return { flow: flow.name, argument: trimmed.slice(w.length).trim() };
      }
    }
  }
  return undefined;
}

/** What an inbound message is, before the current flow sees it. */
export type Interpretation =
  | { kind: 'unsupported'; what: string }
  | { kind: 'problem'; problem: TextProblem }
  | { kind: 'outOfRange'; choices: Choice[] }
  | { kind: 'command'; match: CommandMatch }
  | { kind: 'input'; payload: InboundPayload };

/**
 * Classifies a message. `choicesShown` are the choices last offered to this chat: a bare number
 * answers them. Without choices on screen a number is ordinary text (a building number, an amount).
 */
export function interpret(event: InboundEvent, choicesShown: readonly Choice[], maxTextLength: number, flows: readonly Flow[]): Interpretation {
  if (event.kind === 'unsupported') return { kind: 'unsupported', what: event.what };
  if (event.kind !== 'text') return { kind: 'input', payload: event };
  const problem = textProblem(event.text, maxTextLength);
  if (problem) return { kind: 'problem', problem };
  const text = event.text.trim();
  const match = matchCommand(text, flows);
  if (match) return { kind: 'command', match };
  const n = parseNumber(text);
  if (n !== undefined && choicesShown.length > 0) {
    const choice = n >= 1 ? choicesShown[n - 1] : undefined;
    if (!choice) return { kind: 'outOfRange', choices: [...choicesShown] };
    return { kind: 'input', payload: { kind: 'choice', choice: choice.id } };
  }
  return { kind: 'input', payload: { kind: 'text', text } };
}
