import { describe, expect, it } from 'vitest';
import { outermostScopes } from '../../../src/audience/audience.js';

// A tree by hand: street 2 → community 3 → grids 4, 5 → buildings 6 (grid 4), 7 (grid 5); community 20
// beside 3 (its path '/1/2/20/' starts with the characters '/1/2/2' but is not inside community 3).
const u = (id: number, path: string) => ({ id, path });
const street = u(2, '/1/2/');
const community = u(3, '/1/2/3/');
const grid = u(4, '/1/2/3/4/');
const otherGrid = u(5, '/1/2/3/5/');
const building = u(6, '/1/2/3/4/6/');
const otherBuilding = u(7, '/1/2/3/5/7/');
const community20 = u(20, '/1/2/20/');
const community30 = u(30, '/1/2/30/');

const ids = (units: { id: number }[]) => units.map((x) => x.id);

describe('outermostScopes (overlapping notice areas reduced)', () => {
  it('keeps two buildings of different grids both', () => {
    expect(ids(outermostScopes([building, otherBuilding]))).toEqual([6, 7]);
  });

  it('drops a building inside a picked community, whichever was picked first', () => {
    expect(ids(outermostScopes([building, community]))).toEqual([3]);
    expect(ids(outermostScopes([community, building, otherGrid]))).toEqual([3]);
  });

  it('keeps a grid and a building of another grid, and drops one of its own', () => {
    expect(ids(outermostScopes([grid, otherBuilding, building]))).toEqual([4, 7]);
  });

  it('keeps a unit picked twice once', () => {
    expect(ids(outermostScopes([building, building, otherBuilding]))).toEqual([6, 7]);
  });

  it('reduces everything to the street that holds it', () => {
    expect(ids(outermostScopes([building, otherGrid, community20, street]))).toEqual([2]);
  });

  it('does not take a sibling whose path merely starts with the same digits as inside', () => {
    expect(ids(outermostScopes([u(3, '/1/2/3/'), community30]))).toEqual([3, 30]);
    expect(ids(outermostScopes([community, community20]))).toEqual([3, 20]);
  });

  it('returns nothing for nothing', () => {
    expect(outermostScopes([])).toEqual([]);
  });
});
