import { eq } from 'drizzle-orm';
import { caseCategories, channelIdentities, consents, people, staffAssignments } from '../../db/schema/index.js';
import type { Database } from '../../db/client.js';
import { createQueueBackend, type QueueBackend } from '../../jobs/backend.js';
import { createJobs } from '../../jobs/producer.js';
import { startWorkers, WORKER_JOBS } from '../../jobs/workers.js';
import { createWork } from '../../src/work/unit.js';
import type { CaseSettings } from '../../src/cases/effects.js';
import type { NewCase } from '../../src/cases/intake.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { TEST_REDIS_URL, uniqueQueuePrefix, TEST_CODE_SECRET } from './db.js';
import { flushPrefix } from './redis.js';
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

/**
 * The case job machinery as the worker role runs it (route jobs, timer wake-ups and every sweep,
 * from the job registry), on a fresh queue namespace of the chosen backend, with no channel
 * adapters: what reaches people stays in the outbox for the test to read.
 */
export async function startCaseJobs(
  database: Database,
  opts: { kind: 'redis' | 'postgres'; settings: CaseSettings; sweepEveryMs: number; timerSweepEveryMs?: number },
) {
  const prefix = uniqueQueuePrefix();
  const backend: QueueBackend = createQueueBackend(
    opts.kind === 'redis' ? { kind: 'redis', url: TEST_REDIS_URL, prefix } : { kind: 'postgres', url: database.url, schema: prefix },
  );
  const jobs = createJobs(backend);
  const logger = createLogger('silent');
  const work = createWork({ database, sink: jobs.sink, logger });
  const deps = { database, work, logger, delivery: jobs.delivery };
  const workers = await startWorkers({
    backend,
    database,
    adapters: new Map(),
    producer: jobs,
    config: loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }),
    logger,
    caseSettings: opts.settings,
    jobs: WORKER_JOBS,
    caseSweepEveryMs: opts.sweepEveryMs,
    timerSweepEveryMs: opts.timerSweepEveryMs ?? opts.sweepEveryMs,
  });
  return {
    backend,
    jobs,
    work,
    delivery: jobs.delivery,
    deps,
    async stop() {
      await workers.close();
      await jobs.close();
      await backend.close();
      if (opts.kind === 'redis') await flushPrefix(prefix);
    },
  };
}

/**
 * A resident's report from the small town's first household; tests and benchmarks override what
 * they vary (always the intake key).
 */
export function caseInput(town: SmallTown, who: CasePeople, categoryId: number, over: Partial<NewCase> & { intakeKey: string }): NewCase {
  return {
    reporterId: who.resident,
    communityId: town.community.id,
    placeId: town.households[0]!.id,
    categoryId,
    priority: 'normal',
    description: '楼道里堆满了杂物',
    point: null,
    ...over,
  };
}
