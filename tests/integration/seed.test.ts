import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceMemberships, householdInvites, orgUnits, staffCodes, staffRole } from '../../db/schema/index.js';
import { seedDemoIfEmpty, type SeedResult } from '../../db/seed/index.js';
import { DEMO_STREETS } from '../../db/seed/jiaohe.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { floorAreaM2 } from '../../src/org/household-record.js';
import { hashCode } from '../../src/staff/codes.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../support/db.js';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/** Rows per org-unit kind plus codes and invites: everything the seed writes. */
async function snapshot(database: TestDatabase) {
  const units = await database.db.select({ kind: orgUnits.kind, n: count() }).from(orgUnits).groupBy(orgUnits.kind);
  const [codes] = await database.db.select({ n: count() }).from(staffCodes);
  const [invites] = await database.db.select({ n: count() }).from(householdInvites);
  const [memberships] = await database.db.select({ n: count() }).from(audienceMemberships);
  return {
    units: Object.fromEntries(units.map((u) => [u.kind, u.n])) as Record<string, number>,
    staffCodes: codes!.n,
    invites: invites!.n,
    memberships: memberships!.n,
  };
}

/** What the demo data file describes, computed from it rather than restated here. */
const expected = (() => {
  const communities = DEMO_STREETS.flatMap((s) => s.communities);
  const grids = communities.flatMap((c) => c.grids);
  return {
    streets: DEMO_STREETS.length,
    communities: communities.length,
    grids: grids.length,
    buildings: grids.reduce((n, g) => n + g.buildings, 0),
    units: grids.reduce((n, g) => n + g.buildings * g.unitsPerBuilding, 0),
    households: grids.reduce((n, g) => n + g.buildings * g.unitsPerBuilding * g.floors * g.roomsPerFloor, 0),
  };
})();

describe('seedDemoIfEmpty on a fresh database', () => {
  let database: TestDatabase;
  let dataDir: string;
  let first: SeedResult;
  let afterFirst: Awaited<ReturnType<typeof snapshot>>;
  let codesText: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'linli-seed-'));
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATA_DIR: dataDir, DATABASE_URL: database.url });
    first = await seedDemoIfEmpty(database, config, createLogger('silent'));
    afterFirst = await snapshot(database);
    codesText = first.codesFile ? readFileSync(first.codesFile, 'utf8') : '';
  });
  afterAll(async () => {
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads one county with 2 streets, 3 communities, several grids, buildings and a few hundred households', () => {
    expect(first.seeded).toBe(true);
    expect(afterFirst.units.county).toBe(1);
    expect(afterFirst.units.street).toBe(2);
    expect(afterFirst.units.community).toBe(3);
    expect(afterFirst.units.grid).toBeGreaterThanOrEqual(3);
    expect(afterFirst.units.building).toBeGreaterThanOrEqual(afterFirst.units.grid!);
    expect(afterFirst.units.household).toBeGreaterThanOrEqual(200);
    expect(afterFirst.units.household).toBeLessThan(1000);
    // The database holds exactly what the demo data describes, and the result reports it.
    expect(afterFirst.units).toEqual({
      county: 1,
      street: expected.streets,
      community: expected.communities,
      grid: expected.grids,
      building: expected.buildings,
      unit: expected.units,
      household: expected.households,
    });
    expect(first.counts).toEqual({
      streets: expected.streets,
      communities: expected.communities,
      grids: expected.grids,
      buildings: expected.buildings,
      households: expected.households,
    });
  });

  it('hangs every unit under its parent, down to households with a floor area', async () => {
    const all = await database.db.select().from(orgUnits);
    const byId = new Map(all.map((u) => [u.id, u]));
    const parentKind = { county: null, street: 'county', community: 'street', grid: 'community', building: 'grid', unit: 'building', household: 'unit' } as const;
    for (const u of all) {
      const want = parentKind[u.kind];
      if (want === null) expect(u.parentId).toBeNull();
      else expect(byId.get(u.parentId!)?.kind).toBe(want);
      if (u.kind === 'household') expect(Number(u.floorAreaM2)).toBeGreaterThan(0);
    }
  });

  it('gives every home a floor area staff could have typed, and most homes (not all: some are rented) the owner flag', async () => {
    const homes = await database.db.select().from(orgUnits).where(eq(orgUnits.kind, 'household'));
    // The same bounds and precision `household set --area` accepts.
    for (const h of homes) expect(floorAreaM2.safeParse(h.floorAreaM2).success, `${h.code}: ${h.floorAreaM2}`).toBe(true);
    const owners = await database.db
      .select({ householdId: audienceMemberships.householdId, personId: audienceMemberships.personId, source: audienceMemberships.source, kind: orgUnits.kind })
      .from(audienceMemberships)
      .innerJoin(orgUnits, eq(orgUnits.id, audienceMemberships.householdId))
      .where(eq(audienceMemberships.group, 'owners'));
    expect(owners.every((o) => o.kind === 'household' && o.personId === null && o.source === 'staff')).toBe(true);
    expect(new Set(owners.map((o) => o.householdId)).size).toBe(owners.length);
    expect(owners.length).toBeGreaterThanOrEqual(Math.floor(homes.length * 0.8));
    expect(owners.length).toBeLessThan(homes.length);
    // The owners register is all the seed puts in the audience groups.
    expect(afterFirst.memberships).toBe(owners.length);
  });

  it('issues staff codes for every role', async () => {
    const roles = await database.db.selectDistinct({ role: staffCodes.role }).from(staffCodes);
    expect(roles.map((r) => r.role).sort()).toEqual([...staffRole.enumValues].sort());
    // Each community has a code for each sub-committee member it seeds, and every grid a worker.
    const gridWorkers = await database.db.select({ n: count() }).from(staffCodes).where(eq(staffCodes.role, 'grid_worker'));
    expect(gridWorkers[0]!.n).toBeGreaterThanOrEqual(expected.grids);
  });

  it('keeps the codes out of the start-up summary unless asked (a terminal), pointing to the file', async () => {
    expect(first.summary).toContain(first.codesFile!);
    expect(first.summary).not.toMatch(/[SH]-[A-Z0-9]{4}-[A-Z0-9]{4}/);
  });

  it('writes every code to demo-codes.txt in DATA_DIR, readable only by the owner', async () => {
    expect(first.codesFile).toBe(path.join(path.resolve(dataDir), 'demo-codes.txt'));
    expect(statSync(first.codesFile!).mode & 0o777).toBe(0o600);
    const staff = [...codesText.matchAll(/^(S-[A-Z0-9]{4}-[A-Z0-9]{4})\t(\S+)/gm)];
    const invites = [...codesText.matchAll(/^(H-[A-Z0-9]{4}-[A-Z0-9]{4})\t/gm)];
    expect(staff).toHaveLength(afterFirst.staffCodes);
    expect(invites).toHaveLength(afterFirst.invites);
    expect(invites.length).toBeGreaterThan(0);
    // The file's staff codes are the ones whose hashes are stored (the codes themselves are not).
    const hashes = new Set((await database.db.select({ h: staffCodes.codeHash }).from(staffCodes)).map((r) => r.h));
    for (const [, code] of staff) expect(hashes.has(hashCode(code!, TEST_CODE_SECRET))).toBe(true);
    const rolesInFile = new Set(staff.map(([, , what]) => what!.split(/[/·]/)[0]));
    expect([...rolesInFile].sort()).toEqual([...staffRole.enumValues].sort());
    // Invite codes too are stored only as their keyed hash.
    const stored = new Set((await database.db.select({ c: householdInvites.codeHash }).from(householdInvites)).map((r) => r.c));
    for (const [, code] of invites) expect(stored.has(hashCode(code!, TEST_CODE_SECRET))).toBe(true);
    for (const [, code] of invites) expect(stored.has(code!.replace(/-/g, ''))).toBe(false);
  });

  it('changes nothing when run a second time', async () => {
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATA_DIR: dataDir, DATABASE_URL: database.url });
    const again = await seedDemoIfEmpty(database, config, createLogger('silent'));
    expect(again.seeded).toBe(false);
    expect(again.codesFile).toBeUndefined();
    expect(await snapshot(database)).toEqual(afterFirst);
    expect(readFileSync(first.codesFile!, 'utf8')).toBe(codesText);
  });
});

describe('seedDemoIfEmpty started twice at once', () => {
  let database: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'linli-seed-'));
  });
  afterAll(async () => {
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('seeds once', async () => {
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATA_DIR: dataDir, DATABASE_URL: database.url });
    const results = await Promise.all([
      seedDemoIfEmpty(database, config, createLogger('silent')),
      seedDemoIfEmpty(database, config, createLogger('silent')),
    ]);
    expect(results.map((r) => r.seeded).sort()).toEqual([false, true]);
    const snap = await snapshot(database);
    expect(snap.units.county).toBe(1);
    expect(snap.units.household).toBe(expected.households);
  });
});
