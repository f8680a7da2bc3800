import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../../src/dialog/events.js';
import type { Flow } from '../../../src/dialog/flow.js';
import { interpret, matchCommand, parseNumber, textProblem } from '../../../src/dialog/input.js';

const noop: Flow['start'] = async () => ({ done: true });
const flows: Flow[] = [
  { name: 'privacy', start: noop, steps: {}, commands: { words: ['/mydata', '我的数据', 'My Data'] } },
  { name: 'staff', start: noop, steps: {}, commands: { words: ['/staff', '工作人员'], takesArgument: true } },
];

const text = (t: string): InboundEvent => ({ channel: 'wechat', userRef: 'u', chatRef: 'u', messageRef: 'm', kind: 'text', text: t });
const choices = [
  { id: 'a', label: 'A' },
  { id: 'b', label: 'B' },
];

describe('textProblem', () => {
  it('accepts ordinary text in every script, with newlines and tabs', () => {
    expect(textProblem('你好\n楼道灯坏了\t3单元', 50)).toBeUndefined();
    expect(textProblem('안녕하세요 👋', 50)).toBeUndefined();
  });
  it('counts code points, not UTF-16 units', () => {
    expect(textProblem('👋'.repeat(10), 10)).toBeUndefined();
    expect(textProblem('👋'.repeat(11), 10)).toBe('tooLong');
    expect(textProblem('字'.repeat(11), 10)).toBe('tooLong');
  });
  it('refuses control characters, NUL, replacement characters and lone surrogates', () => {
    expect(textProblem('a\u0000b', 50)).toBe('binary');
    expect(textProblem('\u001b[31mred', 50)).toBe('binary');
    expect(textProblem('PK\u0003\u0004', 50)).toBe('binary');
    expect(textProblem('bad \uFFFD decode', 50)).toBe('binary');
    expect(textProblem('half \uD83D emoji', 50)).toBe('binary');
    expect(textProblem('\uDC00 tail', 50)).toBe('binary');
  });
  it('calls blank text empty', () => {
    expect(textProblem('', 50)).toBe('empty');
    expect(textProblem(' \n\t ', 50)).toBe('empty');
    expect(textProblem('\u3000', 50)).toBe('empty');
  });
});

describe('parseNumber', () => {
  it('reads bare ASCII and full-width numbers with spaces around', () => {
    expect(parseNumber('1')).toBe(1);
    expect(parseNumber(' 2 ')).toBe(2);
    expect(parseNumber('１')).toBe(1);
    expect(parseNumber('１２')).toBe(12);
    expect(parseNumber('0')).toBe(0);
  });
  it('leaves other text alone, including long numbers such as room numbers', () => {
    expect(parseNumber('1201')).toBeUndefined();
    expect(parseNumber('1.')).toBeUndefined();
    expect(parseNumber('-1')).toBeUndefined();
    expect(parseNumber('1楼')).toBeUndefined();
    expect(parseNumber('')).toBeUndefined();
  });
});

describe('matchCommand', () => {
  it('knows the global commands in three languages and slash forms, ignoring case and spaces', () => {
    expect(matchCommand(' 菜单 ', flows)).toEqual({ command: 'menu' });
    expect(matchCommand('主菜单', flows)).toEqual({ command: 'menu' });
    expect(matchCommand('MENU', flows)).toEqual({ command: 'menu' });
    expect(matchCommand('메뉴', flows)).toEqual({ command: 'menu' });
    expect(matchCommand('/start', flows)).toEqual({ command: 'menu' });
    expect(matchCommand('返回', flows)).toEqual({ command: 'back' });
    expect(matchCommand('뒤로', flows)).toEqual({ command: 'back' });
    expect(matchCommand('/Back', flows)).toEqual({ command: 'back' });
    expect(matchCommand('帮助', flows)).toEqual({ command: 'help' });
    expect(matchCommand('도움말', flows)).toEqual({ command: 'help' });
    expect(matchCommand('取消', flows)).toEqual({ command: 'cancel' });
    expect(matchCommand('취소', flows)).toEqual({ command: 'cancel' });
  });
  it('does not treat a sentence that contains a command word as the command', () => {
    expect(matchCommand('菜单在哪里', flows)).toBeUndefined();
    expect(matchCommand('please go back', flows)).toBeUndefined();
  });
  it("matches flows' own words exactly, and as a prefix only when they take an argument", () => {
    expect(matchCommand('my data', flows)).toEqual({ flow: 'privacy' });
    expect(matchCommand('/mydata now', flows)).toBeUndefined();
    expect(matchCommand('/staff', flows)).toEqual({ flow: 'staff' });
    expect(matchCommand('/STAFF  S-abCD-EFGH ', flows)).toEqual({ flow: 'staff', argument: 'S-abCD-EFGH' });
    expect(matchCommand('工作人员\u3000S-ABCD', flows)).toEqual({ flow: 'staff', argument: 'S-ABCD' });
    expect(matchCommand('/staffing', flows)).toBeUndefined();
  });
});

describe('interpret', () => {
  it('maps a bare number to the choice shown at that position', () => {
    expect(interpret(text('２'), choices, 50, flows)).toEqual({ kind: 'input', payload: { kind: 'choice', choice: 'b' } });
  });
  it('refuses a number outside the choices and re-lists them', () => {
    expect(interpret(text('3'), choices, 50, flows)).toEqual({ kind: 'outOfRange', choices });
    expect(interpret(text('0'), choices, 50, flows)).toEqual({ kind: 'outOfRange', choices });
  });
  it('passes a number through as text when no choices are on screen', () => {
    expect(interpret(text(' 12 '), [], 50, flows)).toEqual({ kind: 'input', payload: { kind: 'text', text: '12' } });
  });
  it('checks the text before anything else', () => {
    expect(interpret(text('菜单\u0000'), choices, 50, flows)).toEqual({ kind: 'problem', problem: 'binary' });
    expect(interpret(text('x'.repeat(51)), choices, 50, flows)).toEqual({ kind: 'problem', problem: 'tooLong' });
    expect(interpret(text('   '), choices, 50, flows)).toEqual({ kind: 'problem', problem: 'empty' });
  });
  it('answers stickers and voice as unsupported and passes choices, photos and locations through', () => {
    const base = { channel: 'telegram', userRef: 'u', chatRef: 'u', messageRef: 'm' } as const;
    expect(interpret({ ...base, kind: 'unsupported', what: 'sticker' }, choices, 50, flows)).toEqual({ kind: 'unsupported', what: 'sticker' });
    const photo: InboundEvent = { ...base, kind: 'photo', photo: { fileRef: 'f1' } };
    expect(interpret(photo, choices, 50, flows)).toEqual({ kind: 'input', payload: photo });
    const choice: InboundEvent = { ...base, kind: 'choice', choice: 'a' };
    expect(interpret(choice, choices, 50, flows)).toEqual({ kind: 'input', payload: choice });
  });
});
