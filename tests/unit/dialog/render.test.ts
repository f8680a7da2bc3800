import { describe, expect, it } from 'vitest';
import { parseNumber } from '../../../src/dialog/input.js';
import { renderNumbered } from '../../../src/dialog/render.js';
import { messages } from '../../../src/i18n/index.js';

describe('renderNumbered', () => {
  it('leaves a reply without choices as its text', () => {
    expect(renderNumbered({ locale: 'zh-CN', text: '已取消。' })).toBe('已取消。');
    expect(renderNumbered({ locale: 'zh-CN', text: '已取消。', choices: [] })).toBe('已取消。');
  });

  it('numbers the choices in order, with the hint in the recipient language', () => {
    const text = renderNumbered({
      locale: 'ko',
      text: '메인 메뉴',
      choices: [
        { id: 'menu.report', label: '신고' },
        { id: 'menu.language', label: '언어' },
      ],
    });
    expect(text).toBe(`메인 메뉴\n\n1. 신고\n2. 언어\n（${messages('ko').common.numberedHint}）`);
  });

  it('uses numbers that the engine reads back as the same positions', () => {
    const choices = Array.from({ length: 12 }, (_, i) => ({ id: `c${i}`, label: `L${i}` }));
    const lines = renderNumbered({ locale: 'en', text: 'pick', choices }).split('\n').filter((l) => /^\d+\. /.test(l));
    expect(lines).toHaveLength(12);
    for (const line of lines) {
      const n = parseNumber(line.split('.')[0]!)!;
      expect(line).toBe(`${n}. ${choices[n - 1]!.label}`);
    }
  });
});
