import { describe, expect, it } from 'vitest';
import { maskPhone, maskRef } from '../../src/residents/privacy.js';

describe('maskPhone', () => {
  it('shows a mainland mobile number as its first 3 and last 4 digits', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
  });

  it('ignores spaces in what was typed', () => {
    expect(maskPhone('138 1234 5678')).toBe('138****5678');
    expect(maskPhone(' 13812345678 ')).toBe('138****5678');
  });

  it('hides the middle digits of longer numbers too', () => {
    const masked = maskPhone('+8613812345678');
    expect(masked).toBe('+86****5678');
    expect(masked).not.toContain('1234');
  });

  it('shows only the last two digits of a landline-length number', () => {
    expect(maskPhone('1234567')).toBe('*****67');
    expect(maskPhone('88123456')).toBe('******56');
    expect(maskPhone('0432881234')).toBe('********34');
  });

  it('hides a short number entirely', () => {
    expect(maskPhone('12345')).toBe('*****');
    expect(maskPhone('123456')).toBe('******');
    expect(maskPhone('')).toBe('');
  });

  it('never shows the digits in the middle of an 11-digit number', () => {
    for (const phone of ['13800000000', '15912345678', '18698765432']) {
      const masked = maskPhone(phone);
      expect(masked).toHaveLength(11);
      expect(masked.slice(3, 7)).toBe('****');
      expect(masked).not.toContain(phone.slice(3, 7) + phone.slice(7));
    }
  });
});

describe('maskRef', () => {
  it('shows only the last 4 characters of a platform account id', () => {
    expect(maskRef('123456789')).toBe('****6789');
    expect(maskRef('wxid_abcdefgh')).toBe('****efgh');
  });

  it('hides a reference of 4 characters or fewer entirely', () => {
    expect(maskRef('1234')).toBe('****');
    expect(maskRef('12')).toBe('****');
    expect(maskRef('')).toBe('****');
  });
});
