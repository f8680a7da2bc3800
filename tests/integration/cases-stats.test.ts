import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseCategories, caseEvents, cases, people } from '../../db/schema/index.js';
import { serviceRates, serviceRatesBreakdown, type ServiceRates } from '../../src/cases/stats.js';
import { insertOrgUnit, type OrgUnit } from '../../src/org/tree.js';
import { createTestDatabase } from '../support/db.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

/*
 * Fixture (all times UTC; period = March 2026, half-open [03-01, 04-01)).
 * Every case is created at 08:00 on its day; its first 'assigned' event is at 09:00 that day.
 * "resp" = minutes from the first 'assigned' to the first 'accepted' event.
 *
 *  case  where                 first due  first accept        resp  in time  resolved  rating / close
 *  A     grid G1               11:00      W1 10:00            60    yes      yes       satisfied
 *  B     grid G1               11:00      W1 13:00            240   no       yes       unsatisfied
 *  C     grid G1               11:00      never               -     no       no        -
 *  D     grid G1               11:00      W1 09:30            30    yes      yes       closed default_satisfied
 *  E     grid G1               10:40      W1 10:40 (=due)     100   yes      yes       basically_satisfied
 *  F     grid G1               (never assigned)               -     -        no        closed withdrawn (not rated)
 *  J     grid G1               10:00      W2 09:45            45    yes      no        -   (then transferred,
 *                                                                                        re-assigned, re-accepted by W1)
 *  L     grid G1               10:00      W1 11:00            120   no       no        -   (re-assigned 10:30 due 12:00:
 *                                                                                        the first deadline counts)
 *  H     grid G2               10:00      W2 12:20            200   no       yes       satisfied
 *  I     community, no grid    15:00      W1 14:00            300   yes      no        -
 *  K     other street's grid   10:00      W3 09:20            20    yes      yes       satisfied
 *  O1    grid G1, 02-20 (before the period)   W1 in time, resolved, satisfied  → excluded everywhere
 *  O2    grid G1, created exactly 04-01T00:00Z (period end)  same              → excluded everywhere
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let town: SmallTown;
let otherStreet: OrgUnit;
let otherCommunity: OrgUnit;
let otherStreetGrid: OrgUnit;
let emptyGrid: OrgUnit;
let w1: string;
let w2: string;
let w3: string;
let idle: string;

const period = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') };
const at = (day: string, time: string) => new Date(`2026-${day}T${time}:00Z`);

type EventSpec =
  | { kind: 'assigned'; at: Date; dueAt: Date }
  | { kind: 'accepted'; at: Date; actorId: string }
  | { kind: 'transferred' | 'resolved' | 'rated' | 'closed'; at: Date; actorId?: string };

let seq = 0;
async function addCase(spec: {
  communityId: number;
  gridId: number | null;
  day: string; // 'MM-DD' in 2026
  createdAt?: Date;
  status: (typeof cases.$inferInsert)['status'];
  resolved?: boolean;
  rating?: (typeof cases.$inferInsert)['rating'];
  closeReason?: (typeof cases.$inferInsert)['closeReason'];
  events: EventSpec[];
}) {
  const { db } = database;
  const createdAt = spec.createdAt ?? at(spec.day, '08:00');
  const firstAccept = spec.events.find((e) => e.kind === 'accepted');
  const [row] = await db
    .insert(cases)
    .values({
      number: `T-2026-${String(++seq).padStart(4, '0')}`,
      communityId: spec.communityId,
      gridId: spec.gridId,
      categoryId,
      description: `case ${seq}`,
      status: spec.status,
      rating: spec.rating ?? null,
      closeReason: spec.closeReason ?? null,
      acceptedAt: firstAccept?.at ?? null,
      resolvedAt: spec.resolved ? at(spec.day, '16:00') : null,
      closedAt: spec.status === 'closed' ? at(spec.day, '20:00') : null,
      createdAt,
      updatedAt: createdAt,
    })
    .returning({ id: cases.id });
  await db.insert(caseEvents).values([
    { caseId: row!.id, kind: 'submitted', toStatus: 'submitted', at: createdAt },
    ...spec.events.map((e) => ({
      caseId: row!.id,
      kind: e.kind,
      actorId: 'actorId' in e ? (e.actorId ?? null) : null,
      details: e.kind === 'assigned' ? { dueAt: e.dueAt.toISOString() } : {},
      at: e.at,
    })),
  ]);
}

let categoryId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  town = await createSmallTown(database);
  const { db } = database;
  // A second street (with one community, a grid holding case K and an empty grid), so street
  // and county figures differ and the breakdown shows a child without cases.
  ({ otherStreet, otherCommunity, otherStreetGrid, emptyGrid } = await db.transaction(async (tx) => {
    const otherStreet = await insertOrgUnit(tx, { kind: 'street', parentId: town.county.id, code: 'T-XS', name: '新胜街道' });
    const otherCommunity = await insertOrgUnit(tx, { kind: 'community', parentId: otherStreet.id, code: 'T-XS-01', name: '和平社区' });
    const otherStreetGrid = await insertOrgUnit(tx, { kind: 'grid', parentId: otherCommunity.id, code: 'T-XS-01-G1', name: '和平第一网格' });
    const emptyGrid = await insertOrgUnit(tx, { kind: 'grid', parentId: otherCommunity.id, code: 'T-XS-01-G2', name: '和平第二网格' });
    return { otherStreet, otherCommunity, otherStreetGrid, emptyGrid };
  }));
  [w1, w2, w3, idle] = (
    await db
      .insert(people)
      .values([{ displayName: 'W1' }, { displayName: 'W2' }, { displayName: 'W3' }, { displayName: 'idle' }])
      .returning({ id: people.id })
  ).map((p) => p.id) as [string, string, string, string];
  const [category] = await db
    .insert(caseCategories)
    .values({ code: 'stats-test', names: { 'zh-CN': '环境卫生' } })
    .returning({ id: caseCategories.id });
  categoryId = category!.id;

  const community = town.community.id;
  const g1 = town.grid.id;
  const g2 = town.otherGrid.id;
  const assigned = (day: string, due: string) => ({ kind: 'assigned' as const, at: at(day, '09:00'), dueAt: at(day, due) });
  const accepted = (day: string, time: string, actorId: string) => ({ kind: 'accepted' as const, at: at(day, time), actorId });

  // A: in time (10:00 ≤ 11:00), resolved, satisfied.
  await addCase({ communityId: community, gridId: g1, day: '03-02', status: 'closed', resolved: true, rating: 'satisfied', closeReason: 'rated',
    events: [assigned('03-02', '11:00'), accepted('03-02', '10:00', w1)] });
  // B: late (13:00 > 11:00), resolved, unsatisfied.
  await addCase({ communityId: community, gridId: g1, day: '03-03', status: 'closed', resolved: true, rating: 'unsatisfied', closeReason: 'rated',
    events: [assigned('03-03', '11:00'), accepted('03-03', '13:00', w1)] });
  // C: assigned, never accepted.
  await addCase({ communityId: community, gridId: g1, day: '03-04', status: 'assigned', events: [assigned('03-04', '11:00')] });
  // D: in time, resolved, no rating, closed as 默认满意.
  await addCase({ communityId: community, gridId: g1, day: '03-05', status: 'closed', resolved: true, closeReason: 'default_satisfied',
    events: [assigned('03-05', '11:00'), accepted('03-05', '09:30', w1)] });
  // E: accepted exactly at the deadline (counts as in time), resolved, basically satisfied.
  await addCase({ communityId: community, gridId: g1, day: '03-06', status: 'closed', resolved: true, rating: 'basically_satisfied', closeReason: 'rated',
    events: [assigned('03-06', '10:40'), accepted('03-06', '10:40', w1)] });
  // F: never assigned, withdrawn by the resident: a case, but not assigned and not rated.
  await addCase({ communityId: community, gridId: g1, day: '03-07', status: 'closed', closeReason: 'withdrawn', events: [] });
  // J: first accepted by W2 in time; transferred, re-assigned and re-accepted by W1: stays W2's.
  await addCase({ communityId: community, gridId: g1, day: '03-08', status: 'accepted',
    events: [
      assigned('03-08', '10:00'),
      accepted('03-08', '09:45', w2),
      { kind: 'transferred', at: at('03-08', '10:15'), actorId: w2 },
      { kind: 'assigned', at: at('03-08', '10:30'), dueAt: at('03-08', '12:00') },
      accepted('03-08', '11:00', w1),
    ] });
  // L: re-assigned before acceptance; accepted 11:00 by W1, after the first deadline (10:00) though
  // before the second (12:00): late. Response time is from the first assignment: 120 min.
  await addCase({ communityId: community, gridId: g1, day: '03-09', status: 'accepted',
    events: [
      assigned('03-09', '10:00'),
      { kind: 'assigned', at: at('03-09', '10:30'), dueAt: at('03-09', '12:00') },
      accepted('03-09', '11:00', w1),
    ] });
  // H: the other grid; W2 late (12:20 > 10:00), resolved, satisfied.
  await addCase({ communityId: community, gridId: g2, day: '03-10', status: 'closed', resolved: true, rating: 'satisfied', closeReason: 'rated',
    events: [assigned('03-10', '10:00'), accepted('03-10', '12:20', w2)] });
  // I: community case with no grid; W1 in time (14:00 ≤ 15:00), not resolved.
  await addCase({ communityId: community, gridId: null, day: '03-11', status: 'accepted',
    events: [assigned('03-11', '15:00'), accepted('03-11', '14:00', w1)] });
  // K: the other street; W3 in time, resolved, satisfied.
  await addCase({ communityId: otherCommunity.id, gridId: otherStreetGrid.id, day: '03-12', status: 'closed', resolved: true, rating: 'satisfied', closeReason: 'rated',
    events: [assigned('03-12', '10:00'), accepted('03-12', '09:20', w3)] });
  // O1, O2: outside the period (before it; exactly at its exclusive end).
  await addCase({ communityId: community, gridId: g1, day: '02-20', status: 'closed', resolved: true, rating: 'satisfied', closeReason: 'rated',
    events: [assigned('02-20', '11:00'), accepted('02-20', '10:00', w1)] });
  await addCase({ communityId: community, gridId: g1, day: '04-01', createdAt: new Date('2026-04-01T00:00:00Z'), status: 'closed', resolved: true,
    rating: 'satisfied', closeReason: 'rated', events: [assigned('04-01', '11:00'), accepted('04-01', '10:00', w1)] });
});
afterAll(async () => database.drop());

const NONE: ServiceRates = {
  cases: 0, assigned: 0, responded: 0, respondedInTime: 0, responseRate: null, resolved: 0, resolutionRate: null,
  rated: 0, satisfied: 0, satisfactionRate: null, medianResponseMinutes: null,
};

// Grid G1: A B C D E F J L (I has no grid; H is G2; O1/O2 outside the period).
const G1: ServiceRates = {
  cases: 8,
  assigned: 7, // all but F
  responded: 6, // A B D E J L (C never accepted)
  respondedInTime: 4, // A D E J (B and L late)
  responseRate: 4 / 7,
  resolved: 4, // A B D E
  resolutionRate: 4 / 8,
  rated: 4, // A B E rated, D default-closed (F withdrawn is not rated)
  satisfied: 3, // A D E
  satisfactionRate: 3 / 4,
  medianResponseMinutes: 80, // 30 45 60 | 100 120 240 → (60 + 100) / 2
};
// Grid G2: H alone.
const G2: ServiceRates = {
  cases: 1, assigned: 1, responded: 1, respondedInTime: 0, responseRate: 0, resolved: 1, resolutionRate: 1,
  rated: 1, satisfied: 1, satisfactionRate: 1, medianResponseMinutes: 200,
};
// 幸福社区 (and 民主街道, its only community): G1's eight + H + I (the case without a grid).
const XINGFU: ServiceRates = {
  cases: 10,
  assigned: 9, // G1's 7 + H + I
  responded: 8, // G1's 6 + H + I
  respondedInTime: 5, // G1's 4 + I
  responseRate: 5 / 9,
  resolved: 5, // G1's 4 + H
  resolutionRate: 5 / 10,
  rated: 5, // G1's 4 + H
  satisfied: 4, // G1's 3 + H
  satisfactionRate: 4 / 5,
  medianResponseMinutes: 110, // 30 45 60 100 | 120 200 240 300 → (100 + 120) / 2
};
// 新胜街道 / 和平社区 / 和平第一网格: K alone.
const HEPING: ServiceRates = {
  cases: 1, assigned: 1, responded: 1, respondedInTime: 1, responseRate: 1, resolved: 1, resolutionRate: 1,
  rated: 1, satisfied: 1, satisfactionRate: 1, medianResponseMinutes: 20,
};

describe('serviceRates (响应率 / 解决率 / 满意率)', () => {
  it('grid scope uses cases.grid_id', async () => {
    expect(await serviceRates(database.db, { kind: 'unit', unitId: town.grid.id }, period)).toEqual(G1);
    expect(await serviceRates(database.db, { kind: 'unit', unitId: town.otherGrid.id }, period)).toEqual(G2);
  });

  it('community scope includes cases without a grid', async () => {
    expect(await serviceRates(database.db, { kind: 'unit', unitId: town.community.id }, period)).toEqual(XINGFU);
  });

  it('street scope covers its communities only', async () => {
    expect(await serviceRates(database.db, { kind: 'unit', unitId: town.street.id }, period)).toEqual(XINGFU);
    expect(await serviceRates(database.db, { kind: 'unit', unitId: otherStreet.id }, period)).toEqual(HEPING);
  });

  it('county scope covers both streets', async () => {
    // 幸福社区's ten + K.
    expect(await serviceRates(database.db, { kind: 'unit', unitId: town.county.id }, period)).toEqual({
      cases: 11,
      assigned: 10,
      responded: 9,
      respondedInTime: 6,
      responseRate: 6 / 10,
      resolved: 6,
      resolutionRate: 6 / 11,
      rated: 6,
      satisfied: 5,
      satisfactionRate: 5 / 6,
      medianResponseMinutes: 100, // 20 30 45 60 | 100 | 120 200 240 300
    });
  });

  it('worker scope attributes a case to the actor of its first accept', async () => {
    // W1 first-accepted A B D E L I (J was first accepted by W2; O1/O2 are outside the period).
    expect(await serviceRates(database.db, { kind: 'worker', personId: w1 }, period)).toEqual({
      cases: 6,
      assigned: 6,
      responded: 6,
      respondedInTime: 4, // A D E I (B and L late)
      responseRate: 4 / 6,
      resolved: 4, // A B D E
      resolutionRate: 4 / 6,
      rated: 4, // A B D E
      satisfied: 3, // A D E
      satisfactionRate: 3 / 4,
      medianResponseMinutes: 110, // 30 60 100 | 120 240 300 → (100 + 120) / 2
    });
    // W2: J (in time, 45 min, unresolved) and H (late, 200 min, resolved, satisfied).
    expect(await serviceRates(database.db, { kind: 'worker', personId: w2 }, period)).toEqual({
      cases: 2,
      assigned: 2,
      responded: 2,
      respondedInTime: 1,
      responseRate: 1 / 2,
      resolved: 1,
      resolutionRate: 1 / 2,
      rated: 1,
      satisfied: 1,
      satisfactionRate: 1,
      medianResponseMinutes: 122.5, // (45 + 200) / 2
    });
    expect(await serviceRates(database.db, { kind: 'worker', personId: w3 }, period)).toEqual(HEPING);
    expect(await serviceRates(database.db, { kind: 'worker', personId: idle }, period)).toEqual(NONE);
  });

  it('is empty, with null rates, for a period without cases', async () => {
    const january = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-02-01T00:00:00Z') };
    expect(await serviceRates(database.db, { kind: 'unit', unitId: town.county.id }, january)).toEqual(NONE);
  });

  it('counts the out-of-period cases in their own period', async () => {
    // O1 (02-20) alone in February; O2 (04-01 00:00) alone in April: both W1, in time (60 min), resolved, satisfied.
    const one = { ...HEPING, medianResponseMinutes: 60 };
    const february = { from: new Date('2026-02-01T00:00:00Z'), to: new Date('2026-03-01T00:00:00Z') };
    const april = { from: new Date('2026-04-01T00:00:00Z'), to: new Date('2026-05-01T00:00:00Z') };
    expect(await serviceRates(database.db, { kind: 'unit', unitId: town.grid.id }, february)).toEqual(one);
    expect(await serviceRates(database.db, { kind: 'worker', personId: w1 }, april)).toEqual(one);
  });

  it('refuses units below a grid', async () => {
    await expect(serviceRates(database.db, { kind: 'unit', unitId: town.building.id }, period)).rejects.toThrow(/building/);
  });
});

describe('serviceRatesBreakdown', () => {
  it('gives each grid of a community (a case without a grid is in none)', async () => {
    expect(await serviceRatesBreakdown(database.db, town.community.id, 'grid', period)).toEqual([
      { id: town.grid.id, name: '第一网格', rates: G1 },
      { id: town.otherGrid.id, name: '第二网格', rates: G2 },
    ]);
  });

  it('gives each community of a street', async () => {
    expect(await serviceRatesBreakdown(database.db, town.street.id, 'community', period)).toEqual([
      { id: town.community.id, name: '幸福社区', rates: XINGFU },
    ]);
  });

  it('gives each street of the county, ordered by code', async () => {
    expect(await serviceRatesBreakdown(database.db, town.county.id, 'street', period)).toEqual([
      { id: town.street.id, name: '民主街道', rates: XINGFU },
      { id: otherStreet.id, name: '新胜街道', rates: HEPING },
    ]);
  });

  it('gives every grid under the county, including one without cases', async () => {
    expect(await serviceRatesBreakdown(database.db, town.county.id, 'grid', period)).toEqual([
      { id: town.grid.id, name: '第一网格', rates: G1 },
      { id: town.otherGrid.id, name: '第二网格', rates: G2 },
      { id: otherStreetGrid.id, name: '和平第一网格', rates: HEPING },
      { id: emptyGrid.id, name: '和平第二网格', rates: NONE },
    ]);
  });

  it('refuses a child kind that is not below the parent', async () => {
    await expect(serviceRatesBreakdown(database.db, town.community.id, 'street', period)).rejects.toThrow(/community/);
    await expect(serviceRatesBreakdown(database.db, town.grid.id, 'grid', period)).rejects.toThrow(/grid/);
  });
});
