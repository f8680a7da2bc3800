import { describe, expect, it } from 'vitest';
import { coverage, splitRanges } from '../../../src/consultations/verify.js';

const block = (firstSeq: number, lastSeq: number, prevHash: string, hash: string) => ({ firstSeq, lastSeq, prevHash, hash });

describe('the blocks of a ballot chain', () => {
  it('finds the ballots no block covers: before the first, between two and after the last', () => {
    expect(coverage([block(4, 6, '', 'a'), block(8, 9, 'a', 'b')], 12)).toEqual({ uncovered: [[1, 3], [7, 7], [10, 12]], broken: undefined });
    expect(coverage([block(1, 3, '', 'a'), block(4, 5, 'a', 'b')], 5)).toEqual({ uncovered: [], broken: undefined });
    expect(coverage([], 3)).toEqual({ uncovered: [[1, 3]], broken: undefined });
    expect(coverage([], 0)).toEqual({ uncovered: [], broken: undefined });
  });

  it('names the first block that does not follow the one before it', () => {
    // Not linked to the block before.
    expect(coverage([block(1, 2, '', 'a'), block(3, 4, 'x', 'b'), block(5, 6, 'y', 'c')], 6).broken).toMatchObject({ firstSeq: 3 });
    // The first block links to nothing.
    expect(coverage([block(1, 2, 'x', 'a')], 2).broken).toMatchObject({ firstSeq: 1 });
    // Overlapping the block before.
    expect(coverage([block(1, 3, '', 'a'), block(3, 4, 'a', 'b')], 4).broken).toMatchObject({ firstSeq: 3 });
  });

  it('cuts ranges into parts of about equal size, cutting a range where it must', () => {
    expect(splitRanges([[1, 10]], 2)).toEqual([[[1, 5]], [[6, 10]]]);
    expect(splitRanges([[1, 3], [7, 7], [10, 12]], 2)).toEqual([[[1, 3], [7, 7]], [[10, 12]]]);
    expect(splitRanges([[5, 5]], 2)).toEqual([[[5, 5]]]);
    expect(splitRanges([], 2)).toEqual([]);
  });
});
