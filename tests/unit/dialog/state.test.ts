import { describe, expect, it } from 'vitest';
import { HISTORY_LIMIT, idle, isIdle, localeFromHint, toRow, toState } from '../../../src/dialog/state.js';

describe('localeFromHint', () => {
  it('maps platform language codes to the locales we speak', () => {
    expect(localeFromHint('zh-hans')).toBe('zh-CN');
    expect(localeFromHint('zh')).toBe('zh-CN');
    expect(localeFromHint('ko')).toBe('ko');
    expect(localeFromHint('ko-KR')).toBe('ko');
    expect(localeFromHint('en-US')).toBe('en');
    expect(localeFromHint('EN')).toBe('en');
  });
  it('gives nothing for other languages or no hint, so the default applies', () => {
    expect(localeFromHint('ru')).toBeUndefined();
    expect(localeFromHint('eng')).toBeUndefined();
    expect(localeFromHint('')).toBeUndefined();
    expect(localeFromHint(undefined)).toBeUndefined();
  });
});

describe('saved state', () => {
  it('round-trips through a dialog_states row, keeping the flow data apart from the history', () => {
    const state = {
      flow: 'form',
      step: 'q2',
      data: { name: 'x' },
      prompts: [{ text: 'Q2' }],
      history: [{ step: 'q1', data: {}, prompts: [{ text: 'Q1' }] }],
    };
    const row = toRow('id-1', state, [{ id: 'a', label: 'A' }]);
    expect(row.choices).toEqual([{ id: 'a', label: 'A' }]);
    const back = toState({ ...row, updatedAt: new Date() });
    expect(back).toEqual(state);
  });
  it('keeps at most the last entries of history', () => {
    const history = Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => ({ step: `s${i}`, data: {}, prompts: [] }));
    const row = toRow('id', { ...idle(), flow: 'f', step: 's', history }, []);
    const state = toState({ ...row, updatedAt: new Date() });
    expect(state.history).toHaveLength(HISTORY_LIMIT);
    expect(state.history[0]!.step).toBe('s5');
  });
  it('reads a row written by notifyPerson (menu/idle, no bookkeeping) as idle', () => {
    const state = toState({ identityId: 'id', flow: 'menu', step: 'idle', data: {}, choices: [], updatedAt: new Date() });
    expect(isIdle(state)).toBe(true);
    expect(state.history).toEqual([]);
    expect(isIdle(toState(undefined))).toBe(true);
  });
});
