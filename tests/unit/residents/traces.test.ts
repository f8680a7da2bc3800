import { describe, expect, it } from 'vitest';
import { compact, namedIn, phoneTail } from '../../../src/residents/traces.js';

const who = { name: '张秀英', phone: '13912345678', home: '3号楼2单元301' };

describe('finding an erased person in text staff typed', () => {
  it('reads a phone as its last 11 digits, whatever the spacing or +86, and nothing too short to be one', () => {
    expect(phoneTail('+86 139-1234-5678')).toBe('13912345678');
    expect(phoneTail('0431-666 1234')).toBe('04316661234');
    expect(phoneTail('12345')).toBeNull();
    expect(phoneTail(null)).toBeNull();
  });

  it('compares text without spaces or separators', () => {
    expect(compact(' 3号楼 2单元-301 ')).toBe('3号楼2单元301');
    expect(compact('张 · 秀英')).toBe('张秀英');
  });

  it('finds the phone anywhere, the name and the home only where the caller says they count', () => {
    expect(namedIn('联系人 139 1234 5678', who, { name: false, home: false })).toBe(true);
    expect(namedIn('张秀英（独居）', who, { name: false, home: false })).toBe(false);
    expect(namedIn('张秀英（独居）', who, { name: true, home: false })).toBe(true);
    expect(namedIn('3号楼 2单元 301', who, { name: true, home: false })).toBe(false);
    expect(namedIn('3号楼 2单元 301', who, { name: false, home: true })).toBe(true);
    expect(namedIn('3号楼2单元302 王奶奶', who, { name: true, home: true })).toBe(false);
  });

  it('finds nobody by what the person never gave', () => {
    expect(namedIn('张秀英 3号楼2单元301', { name: null, phone: null, home: null }, { name: true, home: true })).toBe(false);
  });
});
