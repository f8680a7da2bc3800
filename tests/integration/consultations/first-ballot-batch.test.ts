import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkBallots } from '../../../src/consultations/chain.js';
import { castBallot, createConsultation, declareAdult, type ConsultationDraft } from '../../../src/consultations/commands.js';
import { createFirstBallots, type FirstBallots } from '../../../src/consultations/first-ballot.js';
import { openConsultation } from '../../../src/consultations/lifecycle.js';
import { tallyOf } from '../../../src/consultations/tally.js';
import { verifyChain } from '../../../src/consultations/verify.js';
import { makePerson } from '../../support/case-fixture.js';
import { createEstate, recordingWork, type Estate } from '../../support/consultation-fixture.js';
import { createTestDatabase } from '../../support/db.js';

/**
 * The app's group commit of first ballots (first-ballot.ts createFirstBallots): ballots cast at
 * the same moment are stored by one statement, and the one-per-voter rule, the tally and the
 * chain come out as they do one ballot at a time.
 */
const KEY = 'batch-ballot-key';
const deps = { quiet: { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' }, locale: 'zh-CN' as const };

describe('first ballots through the group commit (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let estate: Estate;
  let work: ReturnType<typeof recordingWork>['work'];
  let batch: FirstBallots;
  /** Two residents per household. */
  const residents: string[][] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    estate = await createEstate(database, { buildings: 2, perBuilding: 25, area: (i) => 60 + i, owner: () => true });
    work = recordingWork(database).work;
    for (const h of estate.households) residents.push([await makePerson(database, { householdId: h.id }), await makePerson(database, { householdId: h.id })]);
    batch = createFirstBallots({ url: database.url });
  }, 120_000);
  afterAll(async () => {
    await batch?.close();
    await database?.drop();
  });

  const open = (over: Partial<ConsultationDraft> = {}) =>
    work.run(async (uow) => {
      const c = await createConsultation(
        uow.tx,
        estate.secretary,
        { title: '是否加装电梯', background: '费用按楼层分摊。', options: ['同意', '不同意', '弃权'], scopeUnitIds: [estate.community.id], basis: 'households', closesAt: new Date(Date.now() + 3600_000), ...over },
        new Date(),
      );
      return openConsultation(uow, estate.secretary, c.id, new Date(), deps);
    });
  // As the vote flow casts: in the chat step's transaction, the first ballot by the group commit.
  const cast = (id: string, personId: string, choices: number[]) => database.db.transaction((tx) => castBallot(tx, KEY, id, personId, choices, new Date(), batch));

  it('200 concurrent votes and retries from 50 households: 50 ballots, the right tally, a sound chain', async () => {
    const c = await open();
    // Each household: both residents press twice, all at once (home i → option i % 2).
    const attempts = residents.flatMap((pair, i) => [...pair, ...pair].map((p) => () => cast(c.id, p, [i % 2])));
    const results = await Promise.all(attempts.map((a) => a()));
    expect(results.filter((r) => r.stored)).toHaveLength(50);
    // Every attempt has an answer; the other three of each household got the stored ballot's receipt.
    const stored = new Set(results.filter((r) => r.stored).map((r) => r.receipt));
    expect(results.every((r) => stored.has(r.receipt))).toBe(true);
    expect(await tallyOf(database.db, c.id, 3)).toMatchObject({ ballots: 50, options: [{ count: 25 }, { count: 25 }, { count: 0 }] });
    await database.db.transaction((tx) => linkBallots(tx, c.id, { wait: true }));
    expect(await verifyChain(database.db, c.id)).toEqual({ ok: true, rows: 50, unlinked: 0 });
  }, 120_000);

  it('votes of different bases in one batch are all stored, each by its own rule', async () => {
    const households = await open();
    const adults = await open({ basis: 'adults' });
    const owners = await open({ basis: 'owners', multiple: true, maxChoices: 2 });
    for (const [p] of residents.slice(0, 10)) await database.db.transaction((tx) => declareAdult(tx, p!, true, new Date()));
    const results = await Promise.all(
      residents.slice(0, 10).flatMap(([p], i) => [cast(households.id, p!, [i % 3]), cast(adults.id, p!, [0]), cast(owners.id, p!, [2, 0])]),
    );
    expect(results.filter((r) => r.stored)).toHaveLength(30);
    expect((await tallyOf(database.db, adults.id, 3)).ballots).toBe(10);
    // Owners' ballots weigh the home's floor area (60 + i m², in hundredths).
    const owned = await tallyOf(database.db, owners.id, 3);
    expect(owned).toMatchObject({ ballots: 10, options: [{ count: 10 }, { count: 0 }, { count: 10 }] });
    expect(owned.area).toBe(Array.from({ length: 10 }, (_, i) => (60 + i) * 100).reduce((a, b) => a + b, 0));
  }, 120_000);

  it('an ask that breaks its statement fails alone; the rest of its batch is stored', async () => {
    const c = await open();
    const good = residents.slice(20, 30).map(([p]) => p!);
    // A person id that is no uuid makes the batch's statement fail as a whole: each ask is then tried alone.
    const asked = [...good.slice(0, 5), 'not-a-uuid', ...good.slice(5)].map((p) => cast(c.id, p, [1]).then((r) => r.stored, (err: Error) => err));
    const results = await Promise.all(asked);
    expect(results.filter((r) => r === true)).toHaveLength(10);
    expect(results[5]).toBeInstanceOf(Error);
    expect((await tallyOf(database.db, c.id, 3)).ballots).toBe(10);
  }, 120_000);
});
