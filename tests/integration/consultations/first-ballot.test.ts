import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ballots, consultationVoters, people } from '../../../db/schema/index.js';
import { contentHash, receiptOf, voterToken } from '../../../src/consultations/chain.js';
import { createConsultation, declareAdult, type ConsultationDraft } from '../../../src/consultations/commands.js';
import { castFirstBallot } from '../../../src/consultations/first-ballot.js';
import { openConsultation } from '../../../src/consultations/lifecycle.js';
import { makePerson } from '../../support/case-fixture.js';
import { createEstate, recordingWork, type Estate } from '../../support/consultation-fixture.js';
import { createTestDatabase } from '../../support/db.js';

/**
 * The one-statement first ballot computes in SQL what Node computes elsewhere (the voter token's
 * HMAC, the content hash, the receipt, the owner's weight) and decides eligibility in SQL. These
 * tests hold it to Node's functions and to the pure rules: whatever it stores is what
 * `voterToken`/`contentHash`/`areaUnits` give, and whatever the rules refuse it leaves alone.
 */
const KEY = 'first-ballot-key-that-is-longer-than-one-sha256-block-of-sixty-four-bytes-so-it-is-hashed';
const deps = { quiet: { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' }, locale: 'zh-CN' as const };

describe('first ballot in one statement (real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let estate: Estate;
  let work: ReturnType<typeof recordingWork>['work'];
  const residents: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // Home i: 60.25 + i m² (home 3: none recorded); owners' homes from 2 on.
    estate = await createEstate(database, { buildings: 1, perBuilding: 8, area: (i) => (i === 3 ? null : 60.25 + i), owner: (i) => i >= 2 });
    work = recordingWork(database).work;
    for (const h of estate.households) residents.push(await makePerson(database, { householdId: h.id }));
  }, 120_000);
  afterAll(async () => {
    await database?.drop();
  });

  const open = (over: Partial<ConsultationDraft> = {}) =>
    work.run(async (uow) => {
      const c = await createConsultation(uow.tx, estate.secretary, { title: '楼道照明改造', background: '是否更换为声控灯。', options: ['同意', '不同意', '弃权'], scopeUnitIds: [estate.community.id], basis: 'households', closesAt: new Date(Date.now() + 3600_000), ...over }, new Date());
      return openConsultation(uow, estate.secretary, c.id, new Date(), deps);
    });
  const rowsOf = async (id: string) => ({
    ballots: await database.db.select().from(ballots).where(eq(ballots.consultationId, id)),
    voters: await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, id)),
  });

  it('stores what Node would compute: token (HMAC), content hash, receipt, owner weight', async () => {
    const c = await open({ basis: 'owners', secret: false, multiple: true, maxChoices: 2 });
    const now = new Date();
    const r = await castFirstBallot(database.db, KEY, c.id, residents[4]!, [2, 0], now);
    expect(r?.choices).toEqual([0, 2]);
    const { ballots: [b], voters: [v] } = await rowsOf(c.id);
    const token = voterToken(KEY, c.id, `h:${estate.households[4]!.id}`);
    expect(b!.voterToken).toBe(token);
    expect(v).toMatchObject({ voterKey: `h:${estate.households[4]!.id}`, via: 'chat', personId: residents[4], householdId: estate.households[4]!.id, weight: 6425, voterToken: token });
    const content = { consultationId: c.id, voterToken: token, choices: [0, 2], weight: 6425, via: 'chat' as const, replacesId: null, castAt: b!.castAt, nonce: b!.nonce };
    expect(b!.castAt.getTime()).toBe(now.getTime());
    expect(b!.contentHash).toBe(contentHash(content));
    expect(b!.receipt).toBe(receiptOf(b!.contentHash));
    expect(r!.receipt).toBe(b!.receipt);
  });

  it('an adult votes as themselves; a secret ballot keeps the token off the voter row', async () => {
    const c = await open({ basis: 'adults' });
    await database.db.transaction((tx) => declareAdult(tx, residents[5]!, true, new Date()));
    expect(await castFirstBallot(database.db, KEY, c.id, residents[5]!, [1], new Date())).toBeDefined();
    const { ballots: [b], voters: [v] } = await rowsOf(c.id);
    expect(b!.voterToken).toBe(voterToken(KEY, c.id, `p:${residents[5]}`));
    expect(v).toMatchObject({ voterKey: `p:${residents[5]}`, weight: 0, voterToken: null });
  });

  it('leaves to the ordinary path everything the rules refuse or that is not a first ballot, writing nothing', async () => {
    const households = await open();
    const owners = await open({ basis: 'owners' });
    const adults = await open({ basis: 'adults' });
    const single = households;
    const stranger = await makePerson(database);
    const far = await createEstate(database, { buildings: 1, perBuilding: 1 });
    const outsider = await makePerson(database, { householdId: far.households[0]!.id });
    const pending = await makePerson(database, { householdId: estate.households[6]!.id });
    await database.db.update(people).set({ householdStatus: 'pending' }).where(eq(people.id, pending));
    const erased = await makePerson(database, { householdId: estate.households[7]!.id });
    await database.db.update(people).set({ erasedAt: new Date() }).where(eq(people.id, erased));
    await database.db.transaction((tx) => declareAdult(tx, residents[1]!, false, new Date()));
    const cases: [string, string, string, number[]][] = [
      ['not bound to a home', households.id, stranger, [0]],
      ['home outside the scope', households.id, outsider, [0]],
      ['binding not confirmed', households.id, pending, [0]],
      ['erased', households.id, erased, [0]],
      ['not an owner', owners.id, residents[0]!, [0]],
      ['age not asked yet', adults.id, residents[0]!, [0]],
      ['said under 18', adults.id, residents[1]!, [0]],
      ['unknown option', single.id, residents[2]!, [3]],
      ['two choices in a single-choice vote', single.id, residents[2]!, [0, 1]],
      ['a duplicate choice', single.id, residents[2]!, [1, 1]],
      ['no choice', single.id, residents[2]!, []],
      ['not a consultation', '00000000-0000-4000-8000-000000000000', residents[2]!, [0]],
    ];
    for (const [why, id, person, choices] of cases) expect(await castFirstBallot(database.db, KEY, id, person, choices, new Date()), why).toBeUndefined();
    for (const c of [households, owners, adults]) expect(await rowsOf(c.id)).toEqual({ ballots: [], voters: [] });
    // A second ballot of the same home (its other member or a retry) is the ordinary path's to decide.
    const other = await makePerson(database, { householdId: estate.households[2]!.id });
    expect(await castFirstBallot(database.db, KEY, households.id, residents[2]!, [0], new Date())).toBeDefined();
    expect(await castFirstBallot(database.db, KEY, households.id, other, [1], new Date())).toBeUndefined();
    expect(await castFirstBallot(database.db, KEY, households.id, residents[2]!, [0], new Date())).toBeUndefined();
    expect((await rowsOf(households.id)).ballots).toHaveLength(1);
  });

  it('stores nothing once the vote is closed or past its closing time', async () => {
    const c = await open();
    expect(await castFirstBallot(database.db, KEY, c.id, residents[0]!, [0], new Date(c.closesAt.getTime() + 1))).toBeUndefined();
    await database.db.execute(sql`update consultations set status = 'closed', closed_at = now() where id = ${c.id}`);
    expect(await castFirstBallot(database.db, KEY, c.id, residents[0]!, [0], new Date())).toBeUndefined();
    expect(await rowsOf(c.id)).toEqual({ ballots: [], voters: [] });
  });
});
