import { eq } from 'drizzle-orm';
import { caseCategories, channelIdentities, consents, people, staffAssignments } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import type { StaffRole, SubCommittee } from '../../src/staff/codes.js';
import type { SmallTown } from './org-fixture.js';

export interface CasePeople {
  resident: string;
  neighbour: string;
  worker: string;
  backup: string;
  otherWorker: string;
  secretary: string;
  street: string;
  county: string;
}

let n = 0;

/** A person reachable on the web channel (so notifications become outbox rows), with consent. */
export async function makePerson(database: Database, opts: { householdId?: number } = {}): Promise<string> {
  const [p] = await database.db
    .insert(people)
    .values({ locale: 'zh-CN', householdId: opts.householdId ?? null, householdStatus: opts.householdId ? 'bound' : 'none' })
    .returning({ id: people.id });
  const ref = `fixture-${process.pid}-${++n}`;
  await database.db.insert(channelIdentities).values({ personId: p!.id, channel: 'web', userRef: ref, chatRef: ref });
  await database.db.insert(consents).values({ personId: p!.id, noticeVersion: 'test', channel: 'web' });
  return p!.id;
}

export async function assign(database: Database, personId: string, role: StaffRole, orgUnitId: number, opts: { subCommittee?: SubCommittee; onLeave?: boolean } = {}) {
  await database.db.insert(staffAssignments).values({ personId, role, orgUnitId, subCommittee: opts.subCommittee ?? null, onLeave: opts.onLeave ?? false });
}

/** Residents and staff for every rung of the ladder in the small town. */
export async function casePeople(database: Database, town: SmallTown): Promise<CasePeople> {
  const p: CasePeople = {
    resident: await makePerson(database, { householdId: town.households[0]!.id }),
    neighbour: await makePerson(database, { householdId: town.households[1]!.id }),
    worker: await makePerson(database),
    backup: await makePerson(database),
    otherWorker: await makePerson(database),
    secretary: await makePerson(database),
    street: await makePerson(database),
    county: await makePerson(database),
  };
  await assign(database, p.worker, 'grid_worker', town.grid.id);
  await assign(database, p.backup, 'grid_worker', town.grid.id);
  await assign(database, p.otherWorker, 'grid_worker', town.otherGrid.id);
  await assign(database, p.secretary, 'community_secretary', town.community.id);
  await assign(database, p.street, 'street_official', town.street.id);
  await assign(database, p.county, 'county_official', town.county.id);
  return p;
}

export async function categoryId(database: Database, code: string): Promise<number> {
  const [row] = await database.db.select({ id: caseCategories.id }).from(caseCategories).where(eq(caseCategories.code, code));
  if (!row) throw new Error(`no category ${code}`);
  return row.id;
}
