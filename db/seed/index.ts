import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { count, sql } from 'drizzle-orm';
import { orgUnits } from '../schema/index.js';
import type { Database, Tx } from '../client.js';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { insertOrgUnit, type OrgUnit } from '../../src/org/tree.js';
import { issueHouseholdInvite } from '../../src/residents/invites.js';
import { installDefaultDutyList } from '../../src/cases/catalogue.js';
import { issueStaffCode, type StaffRole, type SubCommittee } from '../../src/staff/codes.js';
import { DEMO_COUNTY, DEMO_STREETS } from './jiaohe.js';
import { codeKey } from '../../src/secrets.js';

export interface SeedResult {
  seeded: boolean;
  summary: string;
  codesFile?: string;
  counts?: Record<string, number>;
}

interface IssuedCode {
  code: string;
  what: string;
}

/** A deterministic pseudo-random floor area (60–140 m²) so the seed is the same every time. */
function floorArea(i: number): number {
  return 60 + ((i * 37) % 81) + ((i * 13) % 10) / 10;
}

/**
 * Loads the demo county when the database has no org units yet. An advisory lock makes two
 * processes starting at once seed it once.
 */
export async function seedDemoIfEmpty(database: Database, config: Config, logger: Logger, opts: { showCodes?: boolean } = {}): Promise<SeedResult> {
  const result = await database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('linli:seed'))`);
    const [existing] = await tx.select({ n: count() }).from(orgUnits);
    if ((existing?.n ?? 0) > 0) return undefined;
    return seedDemo(tx, config);
  });
  if (!result) return { seeded: false, summary: 'demo data already present' };
  const codesFile = path.resolve(config.dataDir, 'demo-codes.txt');
  mkdirSync(path.dirname(codesFile), { recursive: true });
  writeFileSync(
    codesFile,
    [
      '# linli demo codes (蛟河市). Household invite codes bind a resident at once;',
      '# staff codes are one-time: send "/staff CODE" in any chat. Keep this file private.',
      '',
      '## Staff codes',
      ...result.staff.map((c) => `${c.code}\t${c.what}`),
      '',
      '## Household invite codes',
      ...result.invites.map((c) => `${c.code}\t${c.what}`),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  logger.info({ units: result.counts }, 'demo county seeded');
  const pick = (role: string) => result.staff.find((c) => c.what.startsWith(role));
  // Codes on stdout only when a person is watching a terminal: logs are often shipped elsewhere.
  const summary = [
    `Demo county 蛟河市 loaded: ${Object.entries(result.counts).map(([k, v]) => `${v} ${k}`).join(', ')}`,
    ...(opts.showCodes
      ? [
          `  Household invite codes (send in the chat when asked): ${result.invites.slice(0, 3).map((c) => `${c.code} (${c.what})`).join(', ')}`,
          `  Staff codes (send "/staff CODE"): ${['grid_worker', 'community_secretary', 'street_official', 'county_official'].map((r) => pick(r)).filter(Boolean).map((c) => `${c!.code} (${c!.what})`).join(', ')}`,
        ]
      : []),
    `  ${opts.showCodes ? 'All codes' : 'Household invite and staff codes'}: ${codesFile}`,
  ].join('\n');
  return { seeded: true, summary, codesFile, counts: result.counts };
}

async function seedDemo(tx: Tx, config: Config) {
  const counts: Record<string, number> = { streets: 0, communities: 0, grids: 0, buildings: 0, households: 0 };
  const staff: IssuedCode[] = [];
  const invites: IssuedCode[] = [];
  const ttlDays = Math.max(config.staffCodeTtlDays, 30);
  const key = codeKey(config);
  const code = async (role: StaffRole, unit: OrgUnit, what: string, subCommittee?: SubCommittee) => {
    const issued = await issueStaffCode(tx, { role, orgUnitId: unit.id, subCommittee, ttlDays, key });
    staff.push({ code: issued.code, what: `${role}${subCommittee ? `/${subCommittee}` : ''} · ${what}` });
  };

  const county = await insertOrgUnit(tx, { kind: 'county', parentId: null, code: DEMO_COUNTY.code, name: DEMO_COUNTY.name, lat: DEMO_COUNTY.lat, lng: DEMO_COUNTY.lng });
  await code('county_official', county, county.name);
  await code('admin', county, county.name);
  let householdIndex = 0;
  for (const s of DEMO_STREETS) {
    const street = await insertOrgUnit(tx, { kind: 'street', parentId: county.id, code: s.code, name: s.name });
    counts.streets!++;
    await code('street_official', street, street.name);
    for (const c of s.communities) {
      const community = await insertOrgUnit(tx, { kind: 'community', parentId: street.id, code: c.code, name: c.name });
      counts.communities!++;
      const where = `${street.name} ${community.name}`;
      await code('community_secretary', community, where);
      await code('community_director', community, where);
      for (const sc of ['mediation', 'environment_property', 'emergency_health', 'general_affairs'] as const) {
        await code('subcommittee_member', community, where, sc);
      }
      let buildingNo = 0;
      for (const [gi, g] of c.grids.entries()) {
        const grid = await insertOrgUnit(tx, { kind: 'grid', parentId: community.id, code: `${c.code}-G${gi + 1}`, name: g.name, lat: g.lat, lng: g.lng });
        counts.grids!++;
        await code('grid_worker', grid, `${where} ${grid.name}`);
        // The first grid of each community has a second worker: the backup when the first is on leave.
        if (gi === 0) await code('grid_worker', grid, `${where} ${grid.name} (backup)`);
        for (let b = 0; b < g.buildings; b++) {
          buildingNo++;
          const building = await insertOrgUnit(tx, {
            kind: 'building',
            parentId: grid.id,
            code: `${grid.code}-B${buildingNo}`,
            name: `${buildingNo}号楼`,
            lat: g.lat + b * 0.0004,
            lng: g.lng + b * 0.0004,
          });
          counts.buildings!++;
          await code('building_head', building, `${where} ${building.name}`);
          for (let u = 1; u <= g.unitsPerBuilding; u++) {
            const unit = await insertOrgUnit(tx, { kind: 'unit', parentId: building.id, code: `${building.code}-U${u}`, name: `${u}单元` });
            for (let floor = 1; floor <= g.floors; floor++) {
              for (let r = 1; r <= g.roomsPerFloor; r++) {
                const room = `${floor}0${r}`;
                const household = await insertOrgUnit(tx, {
                  kind: 'household',
                  parentId: unit.id,
                  code: `${unit.code}-${room}`,
                  name: room,
                  floorAreaM2: floorArea(householdIndex++),
                });
                counts.households!++;
                if (householdIndex % 15 === 1) {
                  const invite = await issueHouseholdInvite(tx, { householdId: household.id, key });
                  invites.push({ code: invite.code, what: `${where} ${building.name} ${unit.name} ${room}` });
                }
              }
            }
          }
        }
      }
    }
  }
  // 业主: the owners register kept by staff (the 'owners' group on a home); in the demo every home
  // but each tenth (a rented one) is an owner's, with the floor area set above (art. 278 votes).
  await tx.execute(sql`insert into audience_memberships ("group", household_id, source)
    select 'owners', id, 'staff' from org_units where kind = 'household' and id % 10 <> 0 on conflict do nothing`);
  await seedModuleDefaults(tx);
  return { counts, staff, invites };
}

/** Hook for modules that need defaults per community (case categories, duty lists, deadlines). */
async function seedModuleDefaults(tx: Tx): Promise<void> {
  const communities = await tx.select({ id: orgUnits.id }).from(orgUnits).where(sql`${orgUnits.kind} = 'community'`);
  for (const c of communities) await installDefaultDutyList(tx, c.id);
  for (const hook of seedHooks) await hook(tx, communities.map((c) => c.id));
}

/** Modules register their per-community defaults here (e.g. the cases catalogue). */
export const seedHooks: ((tx: Tx, communityIds: number[]) => Promise<void>)[] = [];

