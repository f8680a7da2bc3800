import type { Database } from '../../db/client.js';
import { addMembership } from '../../src/audience/groups.js';
import { createLogger } from '../../src/log.js';
import { insertOrgUnit, type OrgUnit } from '../../src/org/tree.js';
import type { TimerSpec } from '../../src/timers/timers.js';
import { createWork, type AfterCommitSink, type JobRef } from '../../src/work/unit.js';
import type { QueuedMessage } from '../../src/outbox/outbox.js';
import { assign, makePerson } from './case-fixture.js';

export interface Estate {
  community: OrgUnit;
  buildings: OrgUnit[];
  households: OrgUnit[];
  secretary: string;
}

/**
 * A community with `buildings` buildings of `perBuilding` homes each (floor area from `area`,
 * null = none recorded; owners where `owner` says), and a community secretary.
 */
export async function createEstate(
  database: Database,
  opts: { prefix?: string; buildings: number; perBuilding: number; area?: (i: number) => number | null; owner?: (i: number) => boolean },
): Promise<Estate> {
  const prefix = opts.prefix ?? `E${Math.random().toString(36).slice(2, 7)}`;
  const estate = await database.db.transaction(async (tx) => {
    const county = await insertOrgUnit(tx, { kind: 'county', parentId: null, code: prefix, name: '蛟河市' });
    const street = await insertOrgUnit(tx, { kind: 'street', parentId: county.id, code: `${prefix}-S`, name: '民主街道' });
    const community = await insertOrgUnit(tx, { kind: 'community', parentId: street.id, code: `${prefix}-S-C`, name: '幸福社区' });
    const grid = await insertOrgUnit(tx, { kind: 'grid', parentId: community.id, code: `${prefix}-S-C-G1`, name: '第一网格' });
    const buildings: OrgUnit[] = [];
    const households: OrgUnit[] = [];
    for (let b = 0; b < opts.buildings; b++) {
      const building = await insertOrgUnit(tx, { kind: 'building', parentId: grid.id, code: `${grid.code}-B${b + 1}`, name: `${b + 1}号楼` });
      buildings.push(building);
      const unit = await insertOrgUnit(tx, { kind: 'unit', parentId: building.id, code: `${building.code}-U1`, name: '1单元' });
      for (let r = 0; r < opts.perBuilding; r++) {
        const i = households.length;
        const area = opts.area ? opts.area(i) : 100;
        households.push(await insertOrgUnit(tx, { kind: 'household', parentId: unit.id, code: `${unit.code}-${101 + r}`, name: String(101 + r), floorAreaM2: area ?? undefined }));
      }
    }
    return { community, buildings, households };
  });
  const secretary = await makePerson(database);
  await assign(database, secretary, 'community_secretary', estate.community.id);
  if (opts.owner) {
    await database.db.transaction(async (tx) => {
      for (const [i, h] of estate.households.entries()) if (opts.owner!(i)) await addMembership(tx, 'owners', { householdId: h.id }, { personId: secretary, source: 'staff' });
    });
  }
  return { ...estate, secretary };
}

/** A unit of work whose after-commit work is only recorded: no Redis, so timers fire only by the sweep. */
export function recordingWork(database: Database) {
  const sent = { messages: [] as QueuedMessage[], timers: [] as TimerSpec[], jobs: [] as { job: JobRef<unknown>; payload: unknown }[] };
  const sink: AfterCommitSink = {
    deliver: async (m) => void sent.messages.push(...m),
    wake: async (t) => void sent.timers.push(...t),
    enqueue: async (j) => void sent.jobs.push(...j),
  };
  return { work: createWork({ database, sink, logger: createLogger('silent') }), sent };
}
