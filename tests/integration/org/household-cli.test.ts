import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceMemberships, auditLog, orgUnits } from '../../../db/schema/index.js';
import { parseCliArgs, runCli } from '../../../src/cli.js';
import { loadConfig } from '../../../src/config.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../../support/db.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

describe('npm run linli -- household show|set (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let config: ReturnType<typeof loadConfig>;
  const staff = { gridWorker: '', otherGridWorker: '', onLeave: '', resident: '' };
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    await runCli(parseCliArgs(argv), config, (l) => lines.push(l));
    return lines.join('\n');
  };
  /** What a household's record is made of: its row, its group memberships and its audit trail. */
  const recordOf = async (householdId: number) => ({
    unit: (await database.db.select().from(orgUnits).where(eq(orgUnits.id, householdId)))[0],
    owners: await database.db.select().from(audienceMemberships).where(and(eq(audienceMemberships.householdId, householdId), eq(audienceMemberships.group, 'owners'))),
    audit: await database.db.select().from(auditLog).where(and(eq(auditLog.subjectType, 'household'), eq(auditLog.subjectId, String(householdId)))).orderBy(asc(auditLog.id)),
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database, `H${Math.random().toString(36).slice(2, 6)}`);
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, DEFAULT_LOCALE: 'en' });
    staff.gridWorker = await makePerson(database);
    await assign(database, staff.gridWorker, 'grid_worker', town.grid.id);
    staff.otherGridWorker = await makePerson(database);
    await assign(database, staff.otherGridWorker, 'grid_worker', town.otherGrid.id);
    staff.onLeave = await makePerson(database);
    await assign(database, staff.onLeave, 'grid_worker', town.grid.id, { onLeave: true });
    staff.resident = await makePerson(database, { householdId: town.households[2]!.id });
  }, 60_000);
  afterAll(async () => database?.drop());

  it('lets the grid worker set a home’s floor area and owner flag, stored and audited with before and after', async () => {
    const home = town.households[0]!;
    expect(await run('household', 'show', home.code, '--as', staff.gridWorker)).toBe('民主街道 · 幸福社区 · 3号楼 · 2单元 · 301: floor area 86.50 m², owner (业主): no');
    expect(await run('household', 'set', home.code, '--area', '89.5', '--owner', 'yes', '--as', staff.gridWorker)).toBe(
      'updated: floor area 86.50 m², owner (业主): no → floor area 89.50 m², owner (业主): yes',
    );
    const after = await recordOf(home.id);
    expect(after.unit!.floorAreaM2).toBe('89.50');
    expect(after.owners).toHaveLength(1);
    expect(after.owners[0]).toMatchObject({ source: 'staff', addedBy: staff.gridWorker, personId: null });
    const set = after.audit.filter((a) => a.action === 'household.record_set');
    expect(set).toHaveLength(1);
    expect(set[0]).toMatchObject({
      actorId: staff.gridWorker,
      details: { before: { floorAreaM2: '86.50', owner: false }, after: { floorAreaM2: '89.50', owner: true } },
    });
    expect(await run('household', 'show', home.code, '--as', staff.gridWorker)).toMatch(/: floor area 89\.50 m², owner \(业主\): yes$/);

    // Taking the flag off removes the same membership; the area stays.
    expect(await run('household', 'set', home.code, '--owner', 'no', '--as', staff.gridWorker)).toMatch(/owner \(业主\): yes → floor area 89\.50 m², owner \(业主\): no$/);
    const off = await recordOf(home.id);
    expect(off.owners).toHaveLength(0);
    expect(off.unit!.floorAreaM2).toBe('89.50');
    expect(off.audit.filter((a) => a.action === 'household.record_set').at(-1)!.details).toEqual({
      before: { floorAreaM2: '89.50', owner: true },
      after: { floorAreaM2: '89.50', owner: false },
    });
  });

  it('says nothing changed, and audits no change, when the record already says so', async () => {
    const home = town.households[0]!;
    const before = await recordOf(home.id);
    expect(await run('household', 'set', home.code, '--area', '89.50', '--owner', 'no', '--as', staff.gridWorker)).toBe('nothing changed: the record already says that.');
    expect(await recordOf(home.id)).toEqual(before);
  });

  it('keeps one owners register with `notice group add owners`', async () => {
    const home = town.households[1]!;
    await runCli(parseCliArgs(['notice', 'group', 'add', 'owners', '--as', staff.gridWorker, '--household', home.code]), config, () => {});
    expect(await run('household', 'show', home.code, '--as', staff.gridWorker)).toMatch(/owner \(业主\): yes$/);
    expect(await run('household', 'set', home.code, '--owner', 'yes', '--as', staff.gridWorker)).toBe('nothing changed: the record already says that.');
    await run('household', 'set', home.code, '--owner', 'no', '--as', staff.gridWorker);
    expect((await recordOf(home.id)).owners).toHaveLength(0);
  });

  it('refuses staff whose area does not cover the home, saying why, and changes nothing', async () => {
    const home = town.households[2]!;
    const before = await recordOf(home.id);
    await expect(run('household', 'set', home.code, '--area', '120', '--owner', 'yes', '--as', staff.otherGridWorker)).rejects.toThrow(
      '"民主街道 · 幸福社区 · 3号楼 · 2单元 · 401" is outside your area.',
    );
    await expect(run('household', 'show', home.code, '--as', staff.otherGridWorker)).rejects.toThrow('is outside your area.');
    await expect(run('household', 'set', home.code, '--area', '120', '--as', staff.onLeave)).rejects.toThrow('You are on leave');
    await expect(run('household', 'set', home.code, '--owner', 'yes', '--as', staff.resident)).rejects.toThrow('Only community staff can see or change a household record.');
    expect(await recordOf(home.id)).toEqual(before);
    // The other grid's worker reaches their own grid's home.
    await run('household', 'set', town.otherHousehold.code, '--area', '71.25', '--as', staff.otherGridWorker);
    expect((await recordOf(town.otherHousehold.id)).unit!.floorAreaM2).toBe('71.25');
  });

  it('refuses a bad floor area or a unit that is not a home, and changes nothing', async () => {
    const home = town.households[2]!;
    const before = await recordOf(home.id);
    const set = (...rest: string[]) => run('household', 'set', home.code, '--as', staff.gridWorker, ...rest);
    await expect(set('--area', '0')).rejects.toThrow('area: --area must be at least 5 m²');
    await expect(set('--area=-80')).rejects.toThrow('area: --area takes a positive floor area in m²');
    await expect(set('--area', 'big', '--owner', 'yes')).rejects.toThrow('area: --area takes a positive floor area in m²');
    await expect(set('--area', '89.555')).rejects.toThrow('at most two decimals');
    await expect(set('--area', '1e3')).rejects.toThrow('area: --area takes a positive floor area in m²');
    await expect(set('--area', '25000')).rejects.toThrow('area: --area must be at most 2000 m²');
    await expect(set('--area', '89', '--owner', 'maybe')).rejects.toThrow('owner: --owner is yes or no');
    await expect(set()).rejects.toThrow('set takes --area M2 and/or --owner yes|no');
    await expect(run('household', 'set', home.code, '--area', '89', '--as', 'not-a-person')).rejects.toThrow('--as takes the staff member’s person id');
    await expect(run('household', 'set', town.unit.code, '--area', '89', '--as', staff.gridWorker)).rejects.toThrow(`${town.unit.code} is not a household`);
    expect((await recordOf(town.unit.id)).unit!.floorAreaM2).toBeNull();
    expect(await recordOf(home.id)).toEqual(before);
  });
});
