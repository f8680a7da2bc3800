import { describe, expect, it } from 'vitest';
import { decideScope, reachRoots, type ScopedAssignment, type ScopeUnit } from '../../../src/staff/scope.js';

// A tree by hand: county 1 → street 2 → community 3 → grids 4, 5 → buildings 6 (grid 4), 7 (grid 5);
// a second street 8 → community 9.
const u = (id: number, kind: ScopeUnit['kind'], path: string): ScopeUnit => ({ id, kind, path });
const county = u(1, 'county', '/1/');
const street = u(2, 'street', '/1/2/');
const community = u(3, 'community', '/1/2/3/');
const grid = u(4, 'grid', '/1/2/3/4/');
const otherGrid = u(5, 'grid', '/1/2/3/5/');
const building = u(6, 'building', '/1/2/3/4/6/');
const otherBuilding = u(7, 'building', '/1/2/3/5/7/');
const otherStreet = u(8, 'street', '/1/8/');
const otherCommunity = u(9, 'community', '/1/8/9/');

let n = 0;
const a = (role: ScopedAssignment['role'], unit: ScopeUnit, onLeave = false): ScopedAssignment => ({ id: ++n, role, onLeave, unit });

describe('staff scope (who may address which area)', () => {
  it('lets a grid worker address their grid and its buildings, not the other grid or the community', () => {
    const w = [a('grid_worker', grid)];
    expect(decideScope(w, grid).ok).toBe(true);
    expect(decideScope(w, building).ok).toBe(true);
    expect(decideScope(w, otherGrid)).toEqual({ ok: false, reason: 'outside_area' });
    expect(decideScope(w, otherBuilding)).toEqual({ ok: false, reason: 'outside_area' });
    expect(decideScope(w, community)).toEqual({ ok: false, reason: 'outside_area' });
  });

  it('lets a building head address their own building only', () => {
    const h = [a('building_head', building)];
    expect(decideScope(h, building).ok).toBe(true);
    expect(decideScope(h, grid)).toEqual({ ok: false, reason: 'outside_area' });
    expect(decideScope(h, otherBuilding)).toEqual({ ok: false, reason: 'outside_area' });
  });

  it('lets community staff address their community and everything in it', () => {
    const s = [a('community_secretary', community)];
    for (const t of [community, grid, otherGrid, building, otherBuilding]) expect(decideScope(s, t).ok).toBe(true);
    expect(decideScope(s, street)).toEqual({ ok: false, reason: 'outside_area' });
    expect(decideScope(s, otherCommunity)).toEqual({ ok: false, reason: 'outside_area' });
  });

  it('lets a street address its communities but not another street', () => {
    const s = [a('street_official', street)];
    expect(decideScope(s, street).ok).toBe(true);
    expect(decideScope(s, community).ok).toBe(true);
    expect(decideScope(s, otherCommunity)).toEqual({ ok: false, reason: 'outside_area' });
  });

  it('lets the county address all of it', () => {
    const c = [a('county_official', county)];
    for (const t of [county, street, otherStreet, otherCommunity, otherBuilding]) expect(decideScope(c, t).ok).toBe(true);
  });

  it('refuses people with no staff role, and staff on leave with the reason', () => {
    expect(decideScope([], building)).toEqual({ ok: false, reason: 'not_staff' });
    expect(decideScope([a('grid_worker', grid, true)], building)).toEqual({ ok: false, reason: 'on_leave' });
  });

  it('gives a role assigned above its level nothing (a grid worker recorded on a street)', () => {
    expect(decideScope([a('grid_worker', street)], grid)).toEqual({ ok: false, reason: 'outside_area' });
  });

  it('uses whichever assignment reaches, and an active one before one on leave', () => {
    const both = [a('grid_worker', grid, true), a('community_director', community)];
    const d = decideScope(both, building);
    expect(d.ok && d.assignment.role).toBe('community_director');
  });

  it('offers the topmost units a person reaches, without ones inside another', () => {
    const roots = reachRoots([a('grid_worker', grid), a('community_secretary', community), a('building_head', otherBuilding), a('street_official', otherStreet, true)]);
    expect(roots.map((r) => r.id)).toEqual([3]);
  });
});
