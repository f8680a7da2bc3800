import { describe, expect, it } from 'vitest';
import { pack } from '../../src/outbox/wake.js';

describe('reply wake-up payloads', () => {
  it('joins chat refs with spaces, one payload while they fit', () => {
    expect(pack(['a1', 'b2', 'c3'])).toEqual(['a1 b2 c3']);
    expect(pack([])).toEqual([]);
  });

  it('splits into payloads under the NOTIFY limit without cutting a ref', () => {
    const refs = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(32, '0'));
    const payloads = pack(refs);
    // 33 bytes a ref with its space: 7000 bytes hold 212 of them.
    expect(payloads.map((p) => p.split(' ').length)).toEqual([212, 212, 76]);
    expect(payloads.every((p) => Buffer.byteLength(p) <= 7000)).toBe(true);
    expect(payloads.join(' ').split(' ')).toEqual(refs);
  });
});
