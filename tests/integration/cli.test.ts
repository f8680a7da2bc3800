import { spawnSync } from 'node:child_process';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, householdInvites, people, slaPolicies, staffAssignments, staffCodes } from '../../db/schema/index.js';
import { parseCliArgs, runCli, usage, UsageError } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { hashCode } from '../../src/staff/codes.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../support/db.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

describe('parsing operator commands', () => {
  it('reads commands, positionals and flags', () => {
    expect(parseCliArgs(['invite', 'X-1', '--uses', '3'])).toEqual({ command: 'invite', unit: 'X-1', uses: 3 });
    expect(parseCliArgs(['staff-code', 'subcommittee_member', 'C-1', '--sub-committee=mediation', '--days', '2'])).toEqual({
      command: 'staff-code',
      role: 'subcommittee_member',
      unit: 'C-1',
      subCommittee: 'mediation',
      days: 2,
    });
    expect(parseCliArgs([])).toEqual({ command: 'help' });
    // Modules with sub-commands of their own get the rest of the line as it came.
    expect(parseCliArgs(['notice', 'stats', 'N-1', '--as', 'P'])).toEqual({ command: 'notice', argv: ['stats', 'N-1', '--as', 'P'] });
    expect(parseCliArgs(['consultation', 'turnout', 'C-1', '--as=P'])).toEqual({ command: 'consultation', argv: ['turnout', 'C-1', '--as=P'] });
  });

  it('says what is wrong with a bad command line', () => {
    expect(() => parseCliArgs(['frobnicate'])).toThrow(new UsageError('unknown command: frobnicate'));
    expect(() => parseCliArgs(['staff-code', 'mayor', 'C-1'])).toThrow(/ROLE is one of grid_worker/);
    expect(() => parseCliArgs(['invite'])).toThrow(/unit/);
    expect(() => parseCliArgs(['invite', 'X', '--uses', 'many'])).toThrow(/--uses takes a whole number/);
    expect(() => parseCliArgs(['units', 'A', 'B'])).toThrow(/unexpected argument: B/);
    expect(() => parseCliArgs(['units', '--uses', '3'])).toThrow(/bad option: .*--uses/);
    expect(() => parseCliArgs(['toString'])).toThrow(new UsageError('unknown command: toString'));
  });

  it('lists every command in the usage text', () => {
    const text = usage();
    for (const line of ['invite HOUSEHOLD_CODE [--uses N] [--days D]', 'sla PRIORITY ACCEPT_MIN RESOLVE_MIN ESCALATE_MIN [--category CODE]', 'categories COMMUNITY_CODE']) {
      expect(text).toContain(line);
    }
  });
});

describe('running operator commands against PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let config: ReturnType<typeof loadConfig>;
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    await runCli(parseCliArgs(argv), config, (l) => lines.push(l));
    return lines;
  };
  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url });
  });
  afterAll(async () => database.drop());

  it('lists the tree level by level', async () => {
    expect(await run('units')).toEqual([`${town.county.code}\tcounty\t蛟河市`]);
    const rooms = await run('units', town.unit.code);
    expect(rooms).toHaveLength(3);
    expect(rooms[0]).toContain('301\t86.50 m²');
  });

  it('issues a household invite that is stored and audited', async () => {
    const [line] = await run('invite', town.households[1]!.code, '--uses', '2');
    const code = line!.split('\t')[0]!;
    expect(code).toMatch(/^H-[2-9A-Z]{4}-[2-9A-Z]{4}$/);
    expect(line).toContain('302');
    const [row] = await database.db.select().from(householdInvites).where(eq(householdInvites.codeHash, hashCode(code, TEST_CODE_SECRET)));
    expect(row).toMatchObject({ householdId: town.households[1]!.id, maxUses: 2 });
    expect(JSON.stringify(row)).not.toContain(code.replace(/-/g, ''));
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.action, 'cli.invite_issued'));
    expect(audit).toHaveLength(1);
  });

  it('refuses an invite for something that is not a household', async () => {
    await expect(run('invite', town.building.code)).rejects.toThrow(/is a building; invites are for households/);
    await expect(run('invite', 'NO-SUCH')).rejects.toThrow(/no unit with code NO-SUCH/);
  });

  it('issues a one-time staff code stored only as a hash', async () => {
    const [line] = await run('staff-code', 'community_director', town.community.code, '--days', '3');
    const code = line!.split('\t')[0]!;
    const [row] = await database.db.select().from(staffCodes).where(eq(staffCodes.codeHash, hashCode(code, TEST_CODE_SECRET)));
    expect(row).toMatchObject({ role: 'community_director', orgUnitId: town.community.id });
    expect(JSON.stringify(row)).not.toContain(code.replace(/-/g, ''));
    await expect(run('staff-code', 'subcommittee_member', town.community.code)).rejects.toThrow(/needs --sub-committee/);
  });

  it('lists the grids and communities nobody is bound to, until someone binds', async () => {
    const before = await run('coverage');
    expect(before[0]).toMatch(/^3 unit\(s\) with nobody bound/);
    expect(before.slice(1)).toEqual([
      'community\t民主街道 · 幸福社区',
      'grid     \t民主街道 · 幸福社区 · 第一网格',
      'grid     \t民主街道 · 幸福社区 · 第二网格',
    ]);
    const [person] = await database.db.insert(people).values({}).returning({ id: people.id });
    await database.db.insert(staffAssignments).values({ personId: person!.id, role: 'grid_worker', orgUnitId: town.grid.id });
    const after = await run('coverage');
    expect(after.slice(1)).not.toContain('grid     \t民主街道 · 幸福社区 · 第一网格');
    expect(after).toHaveLength(3);
    await database.db.delete(staffAssignments).where(eq(staffAssignments.personId, person!.id));
  });

  it('lists no pending claims in an empty town', async () => {
    expect(await run('claims', town.community.code)).toEqual(['no pending claims']);
  });

  it('lets a community edit its categories, duty list and deadlines', async () => {
    const before = await run('categories', town.community.code);
    expect(before.find((l) => l.startsWith('neighbour\t'))).toContain('sub_committee:mediation');
    expect(await run('category-add', town.community.code, 'parking', '--zh', '停车管理', '--en', 'Parking')).toEqual([
      `added parking (停车管理) to ${town.community.name}; owner grid_worker — change it with \`duty\``,
    ]);
    await expect(run('category-add', town.community.code, 'parking', '--zh', '停车')).rejects.toThrow(/already has a category parking/);
    await run('duty', town.community.code, 'parking', 'department:street:街道城管中队');
    const after = await run('categories', town.community.code);
    expect(after.find((l) => l.startsWith('parking\t'))).toBe('parking\t停车管理\tdepartment:street:街道城管中队\t(own)');
    await run('category-off', town.community.code, 'parking');
    expect((await run('categories', town.community.code)).some((l) => l.startsWith('parking\t'))).toBe(false);
    await expect(run('category-off', town.community.code, 'environment')).rejects.toThrow(/county-wide/);
    expect(() => parseCliArgs(['duty', 'C', 'x', 'mayor'])).toThrow(/OWNER is grid_worker/);

    expect(await run('sla', 'urgent', '15', '120', '20')).toEqual(['urgent: accept 15 min, resolve 120 min, each level above 20 min']);
    await run('sla', 'urgent', '10', '60', '10', '--category', 'safety');
    await run('sla', 'urgent', '16', '120', '20'); // the same policy again: updated, not added
    const policies = await database.db.select().from(slaPolicies);
    expect(policies.map((p) => [p.categoryId === null, p.priority, p.acceptMinutes]).sort()).toEqual([
      [false, 'urgent', 10],
      [true, 'urgent', 16],
    ]);
    await expect(run('sla', 'low', '1', '2', '3', '--category', 'parking')).rejects.toThrow(/no county-wide category parking/);

    // Each change is one audit row, made via the CLI, with what changed.
    const audit = await database.db.select().from(auditLog).orderBy(asc(auditLog.id));
    const changes = audit.filter((a) => /^(catalogue|deadlines)\./.test(a.action)).map((a) => [a.action, a.details]);
    expect(changes).toEqual([
      ['catalogue.category_added', { via: 'cli', communityId: town.community.id, code: 'parking', emergency: false }],
      ['catalogue.duty_set', expect.objectContaining({ via: 'cli', category: 'parking', owner: 'department', departmentLevel: 'street', department: '街道城管中队' })],
      ['catalogue.category_retired', { via: 'cli', communityId: town.community.id, code: 'parking' }],
      ['deadlines.policy_set', expect.objectContaining({ via: 'cli', priority: 'urgent', category: null, acceptMinutes: 15 })],
      ['deadlines.policy_set', expect.objectContaining({ via: 'cli', priority: 'urgent', category: 'safety', acceptMinutes: 10 })],
      ['deadlines.policy_set', expect.objectContaining({ via: 'cli', priority: 'urgent', category: null, acceptMinutes: 16 })],
    ]);
    // Refused changes wrote nothing: no row for the duplicate category, the county-wide retire or the unknown category.
  });

  it('runs a module’s own sub-commands through the same entry, refusing an unknown one with its usage', async () => {
    await expect(run('notice', 'frobnicate', '--as', '00000000-0000-4000-8000-000000000000')).rejects.toThrow(/unknown notice command frobnicate[\s\S]*notice draft/);
    // An option the module checks is refused in words, as a usage mistake.
    await expect(run('notice', 'stats', 'x')).rejects.toThrow(new UsageError('--as takes the staff member’s person id'));
    await expect(run('consultation', 'ballots', '00000000-0000-4000-8000-000000000000')).rejects.toThrow();
  });

  it('exits with status 2 and the usage on a bad command line', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'staff-code', 'mayor', 'X'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ROLE is one of');
    expect(r.stderr).toContain('operator commands');
  });
});
