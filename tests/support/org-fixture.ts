import type { Database } from '../../db/client.js';
import { insertOrgUnit, type OrgUnit } from '../../src/org/tree.js';
import { installDefaultDutyList } from '../../src/cases/catalogue.js';
import { issueHouseholdInvite } from '../../src/residents/invites.js';
import { issueStaffCode, type StaffRole } from '../../src/staff/codes.js';
import { TEST_CODE_SECRET } from './db.js';

export interface SmallTown {
  county: OrgUnit;
  street: OrgUnit;
  community: OrgUnit;
  grid: OrgUnit;
  otherGrid: OrgUnit;
  building: OrgUnit;
  unit: OrgUnit;
  households: OrgUnit[];
  otherHousehold: OrgUnit;
  inviteCode: string;
  staffCodes: Record<'gridWorker' | 'otherGridWorker' | 'secretary' | 'street' | 'county', string>;
}

/** A tiny administrative tree (one street, one community, two grids) with codes, for tests. */
export async function createSmallTown(database: Database, prefix = 'T'): Promise<SmallTown> {
  return database.db.transaction(async (tx) => {
    const county = await insertOrgUnit(tx, { kind: 'county', parentId: null, code: prefix, name: '蛟河市' });
    const street = await insertOrgUnit(tx, { kind: 'street', parentId: county.id, code: `${prefix}-MZ`, name: '民主街道' });
    const community = await insertOrgUnit(tx, { kind: 'community', parentId: street.id, code: `${prefix}-MZ-01`, name: '幸福社区' });
    const grid = await insertOrgUnit(tx, { kind: 'grid', parentId: community.id, code: `${prefix}-MZ-01-G1`, name: '第一网格', lat: 43.72, lng: 127.34 });
    const otherGrid = await insertOrgUnit(tx, { kind: 'grid', parentId: community.id, code: `${prefix}-MZ-01-G2`, name: '第二网格', lat: 43.73, lng: 127.35 });
    const building = await insertOrgUnit(tx, { kind: 'building', parentId: grid.id, code: `${prefix}-MZ-01-G1-B3`, name: '3号楼', lat: 43.7201, lng: 127.3401 });
    const unit = await insertOrgUnit(tx, { kind: 'unit', parentId: building.id, code: `${prefix}-MZ-01-G1-B3-U2`, name: '2单元' });
    const households: OrgUnit[] = [];
    for (const room of ['301', '302', '401']) {
      households.push(
        await insertOrgUnit(tx, { kind: 'household', parentId: unit.id, code: `${prefix}-MZ-01-G1-B3-U2-${room}`, name: room, floorAreaM2: 86.5 }),
      );
    }
    const otherBuilding = await insertOrgUnit(tx, { kind: 'building', parentId: otherGrid.id, code: `${prefix}-MZ-01-G2-B7`, name: '7号楼' });
    const otherUnit = await insertOrgUnit(tx, { kind: 'unit', parentId: otherBuilding.id, code: `${prefix}-MZ-01-G2-B7-U1`, name: '1单元' });
    const otherHousehold = await insertOrgUnit(tx, { kind: 'household', parentId: otherUnit.id, code: `${prefix}-MZ-01-G2-B7-U1-101`, name: '101', floorAreaM2: 70 });
    await installDefaultDutyList(tx, community.id);
    const { code: inviteCode } = await issueHouseholdInvite(tx, { householdId: households[0]!.id, maxUses: 100, key: TEST_CODE_SECRET });
    const code = async (role: StaffRole, orgUnitId: number) => (await issueStaffCode(tx, { role, orgUnitId, ttlDays: 7, key: TEST_CODE_SECRET })).code;
    return {
      county,
      street,
      community,
      grid,
      otherGrid,
      building,
      unit,
      households,
      otherHousehold,
      inviteCode,
      staffCodes: {
        gridWorker: await code('grid_worker', grid.id),
        otherGridWorker: await code('grid_worker', otherGrid.id),
        secretary: await code('community_secretary', community.id),
        street: await code('street_official', street.id),
        county: await code('county_official', county.id),
      },
    };
  });
}
