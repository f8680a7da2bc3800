import type { Flow } from './flow.js';

/** Pure input rules of the dialog engine. */

export type TextProblem = 'tooLong' | 'binary' | 'empty';

// Control characters other than tab/newline/CR: what arrives when someone pastes a binary file.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFD]/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function textProblem(text: string, maxLength: number): TextProblem | undefined {
  if ([...text].length > maxLength) return 'tooLong';
  if (CONTROL.test(text) || LONE_SURROGATE.test(text)) return 'binary';
  if (text.trim() === '') return 'empty';
  return undefined;
}

/** "1", " 2 ", full-width "３" → the number; anything else → undefined. */
export function parseNumber(text: string): number | undefined {
  const ascii = text.trim().replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  if (!/^\d{1,2}$/.test(ascii)) return undefined;
  const n = Number(ascii);
  return n >= 1 ? n : undefined;
}

/** Words that work from anywhere, in every language we speak. */
export const GLOBAL_COMMANDS: Record<'menu' | 'back' | 'help' | 'cancel', string[]> = {
  menu: ['菜单', '主菜单', 'menu', '메뉴', '/start', '/menu'],
  back: ['返回', '上一步', 'back', '뒤로', '/back'],
  help: ['帮助', 'help', '도움말', '/help', '?', '？'],
  cancel: ['取消', 'cancel', '취소', '/cancel'],
};

/**
 * Matches a global command or a flow's own command. Words compare case-insensitively; a flow
 * command with `takesArgument` also matches as a prefix followed by a space (`/staff S-ABCD-EFGH`).
 */
export function matchGlobalCommand(text: string, flows: Flow[]): { command: string; argument?: string } | undefined {
  const lower = text.trim().toLowerCase();
  for (const [command, words] of Object.entries(GLOBAL_COMMANDS)) {
    if (words.includes(lower)) return { command };
  }
  for (const flow of flows) {
    if (!flow.commands) continue;
    for (const word of flow.commands.words) {
      const w = word.toLowerCase();
      if (lower === w) return { command: flow.name };
      if (flow.commands.takesArgument && lower.startsWith(`${w} `)) {
        return { command: flow.name, argument: text.trim().slice(word.length).trim() };
      }
    }
  }
  return undefined;
}
