import { describe, expect, it } from 'vitest';
import { forStaff, neutraliseControls } from '../../../src/dialog/staff-text.js';

describe('what staff see of a resident\'s text', () => {
  it('neutralises a right-to-left override so the text reads as written', () => {
    expect(neutraliseControls('照片\u202Egpj.exe')).toBe('照片\uFFFDgpj.exe');
    expect(neutraliseControls('a\u2066b\u2069c\u200Fd\u0007e')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe');
  });

  it('keeps newlines, tabs, Chinese, Korean and emoji as they are', () => {
    expect(neutraliseControls('楼道\n灯坏了\t🙏 불이 꺼졌어요')).toBe('楼道\n灯坏了\t🙏 불이 꺼졌어요');
  });

  it('masks a mobile or landline number typed into a description', () => {
    expect(forStaff('请打我电话13912345678谢谢')).toBe('请打我电话139****5678谢谢');
    expect(forStaff('电话 +86 139-1234-5678')).toBe('电话 +86****5678');
    expect(forStaff('座机 0432-64212345')).toBe('座机 043****2345');
  });

  it('leaves other numbers alone: room numbers, dates, case numbers', () => {
    expect(forStaff('3号楼2单元301室，11月23日，见 JH-20261123-0007')).toBe('3号楼2单元301室，11月23日，见 JH-20261123-0007');
  });
});
