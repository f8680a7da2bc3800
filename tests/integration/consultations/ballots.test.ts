import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, ballots, consultationProxies, consultations, consultationVoters, notices, timers } from '../../../db/schema/index.js';
import { contentHash, linkBallots, receiptOf, voterToken } from '../../../src/consultations/chain.js';
import { verifyChain } from '../../../src/consultations/verify.js';
import { castBallot, ConsultationError, createConsultation, declareAdult, enterBallot, myBallot, findReceipt, type ConsultationDraft } from '../../../src/consultations/commands.js';
import { refusalText, explainResult } from '../../../src/consultations/explain.js';
import { closeConsultation, openConsultation, publishConsultation, remindNonVoters } from '../../../src/consultations/lifecycle.js';
import { tallyOf, turnoutByBuilding } from '../../../src/consultations/tally.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { fireDueTimers } from '../../../src/timers/fire.js';
import { consultationCloseTimer, consultationRemindTimer } from '../../../jobs/consultations.js';
import { makePerson } from '../../support/case-fixture.js';
import { createEstate, recordingWork, type Estate } from '../../support/consultation-fixture.js';
import { createTestDatabase } from '../../support/db.js';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
const KEY = 'test-ballot-key';
const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };
const deps = { quiet, locale: 'zh-CN' as const };
const zh = messages('zh-CN');

describe('consultation ballots (real PostgreSQL)', () => {
  let database: TestDb;
  let estate: Estate;
  let work: ReturnType<typeof recordingWork>['work'];
  /** Two residents per household. */
  const residents: string[][] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // 50 homes in two buildings; home i has 60 + i m², except home 49 (none recorded); every home but 0–4 is an owner's.
    estate = await createEstate(database, { buildings: 2, perBuilding: 25, area: (i) => (i === 49 ? null : 60 + i), owner: (i) => i >= 5 });
    work = recordingWork(database).work;
    for (const h of estate.households) residents.push([await makePerson(database, { householdId: h.id }), await makePerson(database, { householdId: h.id })]);
  }, 120_000);
  afterAll(async () => {
    await database?.drop();
  });

  const draft = (over: Partial<ConsultationDraft> = {}): ConsultationDraft => ({
    title: '是否加装电梯',
    background: '1号楼、2号楼居民提出加装电梯，费用按楼层分摊。',
    options: ['同意', '不同意', '弃权'],
    scopeUnitIds: [estate.community.id],
    basis: 'households',
    closesAt: new Date(Date.now() + 3600_000),
    ...over,
  });
  const openOne = async (over: Partial<ConsultationDraft> = {}) =>
    work.run(async (uow) => {
      const c = await createConsultation(uow.tx, estate.secretary, draft(over), new Date());
      return openConsultation(uow, estate.secretary, c.id, new Date(), deps);
    });
  const cast = (id: string, personId: string, choices: number[]) => database.db.transaction((tx) => castBallot(tx, KEY, id, personId, choices, new Date()));
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConsultationError);
    return err as ConsultationError;
  };

  it('200 concurrent votes and retries from 50 households store 50 ballots and the right tally', async () => {
    const c = await openOne();
    expect(c.eligible).toMatchObject({ households: 50 });
    // Each household: both residents press twice, all at once, the same choice (home i → option i % 2).
    const attempts = residents.flatMap((pair, i) => [...pair, ...pair].map((p) => () => cast(c.id, p, [i % 2])));
    const results = await Promise.all(attempts.map((a) => a()));
    expect(results.filter((r) => r.stored)).toHaveLength(50);
    const counted = (await database.db.execute(sql`select count(*)::int as n from ballots where consultation_id = ${c.id}`)) as unknown as { n: number }[];
    expect(counted[0]!.n).toBe(50);
    const tally = await tallyOf(database.db, c.id, 3);
    expect(tally).toEqual({ ballots: 50, area: 0, options: [{ count: 25, area: 0 }, { count: 25, area: 0 }, { count: 0, area: 0 }] });
    await database.db.transaction((tx) => linkBallots(tx, c.id, { wait: true }));
    expect(await verifyChain(database.db, c.id)).toEqual({ ok: true, rows: 50, unlinked: 0 });
    // Turnout by building: 25 of 25 homes in each.
    const turnout = await turnoutByBuilding(database.db, c.id, 'households');
    expect(turnout.map((t) => [t.building, t.households, t.eligibleHouseholds])).toEqual([['1号楼', 25, 25], ['2号楼', 25, 25]]);
  }, 120_000);

  it('a household member changes the household ballot: the latest counts, the chain links both', async () => {
    const c = await openOne();
    const first = await cast(c.id, residents[0]![0]!, [0]);
    const second = await cast(c.id, residents[0]![1]!, [1]);
    expect(second).toMatchObject({ stored: true, changed: true });
    expect(second.receipt).not.toBe(first.receipt);
    expect((await tallyOf(database.db, c.id, 3)).options.map((o) => o.count)).toEqual([0, 1, 0]);
    expect(await myBallot(database.db, KEY, c, `h:${estate.households[0]!.id}`)).toMatchObject({ choices: [1], receipt: second.receipt });
    expect(await verifyChain(database.db, c.id)).toEqual({ ok: true, rows: 2, unlinked: 2 });
    // Both go into one block: the change replaces the voter's ballot before it.
    await database.db.transaction((tx) => linkBallots(tx, c.id, { wait: true }));
    const blocks = (await database.db.execute(sql`select first_seq as f, last_seq as l from ballot_blocks where consultation_id = ${c.id}`)) as unknown as { f: number; l: number }[];
    expect(blocks).toEqual([{ f: 1, l: 2 }]);
    expect(await verifyChain(database.db, c.id)).toEqual({ ok: true, rows: 2, unlinked: 0 });
  });

  it('a chat ballot and a paper ballot for the same household: one counted, the other refused with a clear answer', async () => {
    const c = await openOne({ changeable: false });
    const home = estate.households[3]!;
    await cast(c.id, residents[3]![0]!, [0]);
    const paper = await refusal(database.db.transaction((tx) => enterBallot(tx, KEY, estate.secretary, c.id, home.id, [1], new Date())));
    expect(paper.reason).toBe('already_voted');
    expect(refusalText(zh, paper)).toBe('您家已经以「线上」方式投过票，每户只能投一次，这次没有计入。');
    // Paper first elsewhere: then the chat is refused, naming the paper ballot.
    const other = estate.households[4]!;
    await database.db.transaction((tx) => enterBallot(tx, KEY, estate.secretary, c.id, other.id, [1], new Date()));
    const chat = await refusal(cast(c.id, residents[4]![0]!, [0]));
    expect(refusalText(zh, chat)).toContain('纸质票');
    expect((await tallyOf(database.db, c.id, 3)).options.map((o) => o.count)).toEqual([1, 1, 0]);
    const audits = await database.db.select().from(auditLog).where(eq(auditLog.action, 'consultation.paper'));
    expect(audits.some((a) => a.subjectId === c.id && (a.details as { householdId: number }).householdId === other.id && !('choices' in a.details))).toBe(true);
  });

  it('a chat ballot and a paper ballot for the same household at the same moment: exactly one counted, the other refused naming the way that won', async () => {
    const c = await openOne();
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const i = 20 + round;
      const home = estate.households[i]!;
      // Staff's entry reads more before it writes, so the chat starts 0–11 ms later: the two
      // writes meet at varying moments, and which way wins varies (both did, here).
      const [chat, paper] = await Promise.allSettled([
        new Promise((r) => setTimeout(r, round)).then(() => cast(c.id, residents[i]![0]!, [0])),
        database.db.transaction((tx) => enterBallot(tx, KEY, estate.secretary, c.id, home.id, [1], new Date())),
      ]);
      expect([chat.status, paper.status].sort()).toEqual(['fulfilled', 'rejected']);
      const lost = (chat.status === 'rejected' ? chat : paper) as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(ConsultationError);
      expect((lost.reason as ConsultationError).reason).toBe('already_voted');
      // The refused side is told the way the household's counted ballot came.
      expect(refusalText(zh, lost.reason as ConsultationError)).toBe(zh.consultations.alreadyVoted({ via: chat.status === 'fulfilled' ? '线上' : '纸质票' }));
      const stored = (await database.db.execute(sql`select via, choices from ballots where consultation_id = ${c.id} and voter_token = ${voterToken(KEY, c.id, `h:${home.id}`)}`)) as unknown as { via: string; choices: number[] }[];
      expect(stored).toEqual([chat.status === 'fulfilled' ? { via: 'chat', choices: [0] } : { via: 'paper', choices: [1] }]);
    }
    expect((await tallyOf(database.db, c.id, 3)).ballots).toBe(rounds);
    expect(await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, c.id))).toHaveLength(rounds);
  }, 60_000);

  it('a vote that cannot be changed refuses a second chat ballot of the household with a clear answer and stores nothing', async () => {
    const c = await openOne({ changeable: false });
    const home = estate.households[7]!;
    const first = await cast(c.id, residents[7]![0]!, [0]);
    const before = await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, c.id));
    const refused = await refusal(cast(c.id, residents[7]![1]!, [1]));
    expect(refused.reason).toBe('not_changeable');
    expect(refusalText(zh, refused)).toBe('这项投票投出后不能修改。');
    expect(await database.db.select().from(ballots).where(eq(ballots.consultationId, c.id))).toMatchObject([{ choices: [0], receipt: first.receipt }]);
    expect(await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, c.id))).toEqual(before);
    expect(await myBallot(database.db, KEY, c, `h:${home.id}`)).toMatchObject({ choices: [0], receipt: first.receipt });
    // The same choice again is no change: answered with the receipt it already has.
    expect(await cast(c.id, residents[7]![1]!, [0])).toMatchObject({ stored: false, receipt: first.receipt });
  });

  it('a proxy ballot records its authorisation and counts once for the home', async () => {
    const c = await openOne({ basis: 'owners', rule: 'civil_code_278' });
    const home = estate.households[10]!;
    const r = await database.db.transaction((tx) => enterBallot(tx, KEY, estate.secretary, c.id, home.id, [0], new Date(), { grantor: '业主王某', proxy: '其子王某某', documentRef: '委托书 2026-017' }));
    const [voter] = await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, c.id));
    expect(voter).toMatchObject({ via: 'proxy', householdId: home.id, weight: 7000, voterToken: null });
    expect(voter!.proxyId).not.toBeNull();
    expect((await refusal(cast(c.id, residents[10]![0]!, [1]))).detail.via).toBe('proxy');
    expect(r.stored).toBe(true);
    // 委托: the authorisation as recorded, and the audit of the ballot naming it and its document
    // (not the grantor's or proxy's names, nor the secret choice).
    const [authorisation] = await database.db.select().from(consultationProxies).where(eq(consultationProxies.id, voter!.proxyId!));
    expect(authorisation).toMatchObject({ consultationId: c.id, householdId: home.id, grantor: '业主王某', proxy: '其子王某某', documentRef: '委托书 2026-017', recordedBy: estate.secretary });
    const audits = await database.db.select().from(auditLog).where(and(eq(auditLog.action, 'consultation.proxy'), eq(auditLog.subjectId, c.id)));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actorId: estate.secretary, subjectType: 'consultation' });
    // A secret vote: no receipt either, which with the published list would give the choice away.
    expect(audits[0]!.details).toEqual({ householdId: home.id, proxyId: voter!.proxyId, documentRef: '委托书 2026-017' });
  });

  it('a secret vote stores no voter row that links to a ballot by time; an open vote keeps the times', async () => {
    const c = await openOne();
    for (let i = 0; i < 6; i++) await cast(c.id, residents[i]![0]!, [i % 3]);
    await cast(c.id, residents[0]![1]!, [2]);
    await database.db.transaction((tx) => enterBallot(tx, KEY, estate.secretary, c.id, estate.households[6]!.id, [1], new Date()));
    const [linked] = (await database.db.execute(sql`
      select count(*)::int as n from consultation_voters v join ballots b on b.consultation_id = v.consultation_id and b.cast_at in (v.first_at, v.last_at)
      where v.consultation_id = ${c.id}`)) as unknown as { n: number }[];
    expect(linked!.n).toBe(0);
    // Every row says only that its voter took part in the vote opened then: no order, no change.
    const rows = await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, c.id));
    expect(rows).toHaveLength(7);
    expect(rows.every((v) => v.firstAt.getTime() === c.openedAt!.getTime() && v.lastAt.getTime() === c.openedAt!.getTime() && v.voterToken === null)).toBe(true);
    // An open ballot keeps when each voter first and last voted (its list names them anyway).
    const open = await openOne({ secret: false });
    const a = await cast(open.id, residents[0]![0]!, [0]);
    const b = await cast(open.id, residents[0]![1]!, [1]);
    const times = (await database.db.execute(sql`select cast_at as at from ballots where receipt in (${a.receipt}, ${b.receipt}) order by id`)) as unknown as { at: string }[];
    const [row] = await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, open.id));
    expect([row!.firstAt, row!.lastAt].map((t) => t.getTime())).toEqual(times.map((t) => new Date(t.at).getTime()));
  });

  it('tells a person why they may not vote', async () => {
    const owners = await openOne({ basis: 'owners' });
    expect((await refusal(cast(owners.id, residents[1]![0]!, [0]))).detail.ineligible).toBe('not_owner');
    const adults = await openOne({ basis: 'adults' });
    const asked = await refusal(cast(adults.id, residents[1]![0]!, [0]));
    expect(asked.detail.ineligible).toBe('ask_age');
    await database.db.transaction((tx) => declareAdult(tx, residents[1]![0]!, false, new Date()));
    expect(refusalText(zh, await refusal(cast(adults.id, residents[1]![0]!, [0])))).toBe('这项投票只限年满18周岁的居民参加。');
    await database.db.transaction((tx) => declareAdult(tx, residents[1]![1]!, true, new Date()));
    expect((await cast(adults.id, residents[1]![1]!, [0])).stored).toBe(true);
    const multi = await openOne({ multiple: true, maxChoices: 2 });
    expect((await cast(multi.id, residents[2]![0]!, [0, 2])).choices).toEqual([0, 2]);
    expect((await refusal(cast(multi.id, residents[2]![0]!, [0, 1, 2]))).detail.choices).toBe('too_many');
  });

  it('finds the first tampered ballot row', async () => {
    const c = await openOne();
    for (let i = 0; i < 10; i++) await cast(c.id, residents[i]![0]!, [0]);
    expect(await verifyChain(database.db, c.id)).toMatchObject({ ok: true, rows: 10, unlinked: 10 });
    expect(await database.db.transaction((tx) => linkBallots(tx, c.id, { wait: true }))).toBe(10);
    // The log refuses changes, linked or not…
    await expect(database.db.execute(sql`update ballots set choices = '{1}' where consultation_id = ${c.id} and seq = 7`)).rejects.toThrow();
    await expect(database.db.execute(sql`update ballots set seq = null where consultation_id = ${c.id} and seq = 7`)).rejects.toThrow();
    // …so the tamperer bypasses the trigger (superuser) and edits row 7.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`update ballots set choices = '{1}' where consultation_id = ${c.id} and seq = 7`);
    });
    expect(await verifyChain(database.db, c.id)).toMatchObject({ ok: false, rows: 10, first: { seq: 7, problem: 'content' } });
    // Deleting the last row is found too (the head no longer matches).
    const d = await openOne();
    for (let i = 0; i < 3; i++) await cast(d.id, residents[i]![0]!, [0]);
    await database.db.transaction((tx) => linkBallots(tx, d.id, { wait: true }));
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`delete from ballots where consultation_id = ${d.id} and seq = 3`);
    });
    expect((await verifyChain(database.db, d.id)).first).toMatchObject({ seq: 3, problem: 'head' });
    // The chain is verified in two ranges at once (1–5, 6–10 here): a row cut out at the seam is
    // found, by the next row's link to the one before it, which lies in the other range.
    const e = await openOne();
    for (let i = 0; i < 10; i++) await cast(e.id, residents[i]![0]!, [0]);
    await database.db.transaction((tx) => linkBallots(tx, e.id, { wait: true }));
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`delete from ballots where consultation_id = ${e.id} and seq = 6`);
    });
    expect((await verifyChain(database.db, e.id)).first).toMatchObject({ seq: 7, problem: 'gap' });
  });

  const tamper = (statement: ReturnType<typeof sql>) =>
    database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(statement);
    });
  const link = (id: string) => database.db.transaction((tx) => linkBallots(tx, id, { wait: true }));
  const blocksOf = async (id: string) =>
    ((await database.db.execute(sql`select first_seq as f, last_seq as l from ballot_blocks where consultation_id = ${id} order by last_seq`)) as unknown as { f: number; l: number }[]).map((b) => [b.f, b.l]);

  it('names a ballot rewritten with a matching content hash in the middle of a block, and a block whose own hash changed', async () => {
    const c = await openOne();
    // Three passes of the linker: three blocks.
    for (let pass = 0; pass < 3; pass++) {
      for (let i = pass * 3; i < pass * 3 + 3; i++) await cast(c.id, residents[i]![0]!, [0]);
      await link(c.id);
    }
    expect(await blocksOf(c.id)).toEqual([[1, 3], [4, 6], [7, 9]]);
    expect(await verifyChain(database.db, c.id)).toEqual({ ok: true, rows: 9, unlinked: 0 });
    // Ballot 5 now says 不同意, with the content hash and receipt that content would have had.
    const [b] = (await database.db.execute(sql`
      select id, voter_token as "voterToken", weight, via, round(date_part('epoch', cast_at) * 1000)::bigint as "castMs", nonce
      from ballots where consultation_id = ${c.id} and seq = 5`)) as unknown as { id: string; voterToken: string; weight: number; via: 'chat'; castMs: string; nonce: string }[];
    const forged = contentHash({ consultationId: c.id, voterToken: b!.voterToken, choices: [1], weight: b!.weight, via: b!.via, replacesId: null, castAt: new Date(Number(b!.castMs)), nonce: b!.nonce });
    await tamper(sql`update ballots set choices = '{1}', content_hash = ${forged}, receipt = ${receiptOf(forged)} where id = ${b!.id}`);
    expect(await verifyChain(database.db, c.id)).toMatchObject({ ok: false, first: { seq: 5, id: Number(b!.id), problem: 'hash' } });
    // A block whose record was changed, its ballots untouched: named by its first ballot.
    const d = await openOne();
    for (let pass = 0; pass < 2; pass++) {
      for (let i = pass * 2; i < pass * 2 + 2; i++) await cast(d.id, residents[i]![0]!, [0]);
      await link(d.id);
    }
    await tamper(sql`update ballot_blocks set hash = md5(hash) where consultation_id = ${d.id} and last_seq = 4`);
    expect(await verifyChain(database.db, d.id)).toMatchObject({ ok: false, first: { seq: 3, problem: 'block' } });
    // Ballots outside any block (linked before blocks existed) are checked row by row.
    await tamper(sql`delete from ballot_blocks where consultation_id = ${d.id}`);
    expect(await verifyChain(database.db, d.id)).toEqual({ ok: true, rows: 4, unlinked: 0 });
    await tamper(sql`update ballots set choices = '{2}' where consultation_id = ${d.id} and seq = 2`);
    expect(await verifyChain(database.db, d.id)).toMatchObject({ ok: false, first: { seq: 2, problem: 'content' } });
  });

  it('links a ballot changed before it was linked outside any block, and names it', async () => {
    const c = await openOne();
    for (let i = 0; i < 5; i++) await cast(c.id, residents[i]![0]!, [0]);
    const [third] = (await database.db.execute(sql`select id from ballots where consultation_id = ${c.id} order by id offset 2 limit 1`)) as unknown as { id: string }[];
    await tamper(sql`update ballots set choices = '{1}' where id = ${third!.id}`);
    expect(await link(c.id)).toBe(5);
    expect(await blocksOf(c.id)).toEqual([[1, 2], [4, 5]]);
    expect(await verifyChain(database.db, c.id)).toMatchObject({ ok: false, first: { seq: 3, id: Number(third!.id), problem: 'content' } });
    // Cut out, it is found by the gap it leaves before the next block.
    await tamper(sql`delete from ballots where id = ${third!.id}`);
    expect(await verifyChain(database.db, c.id)).toMatchObject({ ok: false, rows: 4, first: { seq: 4, problem: 'gap' } });
    // A change made to replace another voter's ballot, with a content hash to match: the linker
    // leaves it out of any block, and verification names it as a replacement.
    const d = await openOne();
    await cast(d.id, residents[0]![0]!, [0]);
    await cast(d.id, residents[1]![0]!, [0]);
    await cast(d.id, residents[0]![1]!, [1]);
    const [change] = (await database.db.execute(sql`
      select id, voter_token as "voterToken", choices, weight, via, round(date_part('epoch', cast_at) * 1000)::bigint as "castMs", nonce, replaces_id as "replacesId"
      from ballots where consultation_id = ${d.id} and replaces_id is not null`)) as unknown as { id: string; voterToken: string; choices: number[]; weight: number; via: 'chat'; castMs: string; nonce: string; replacesId: string }[];
    const [other] = (await database.db.execute(sql`select id from ballots where consultation_id = ${d.id} and id <> ${change!.id} and id <> ${change!.replacesId}`)) as unknown as { id: string }[];
    const forged = contentHash({ consultationId: d.id, voterToken: change!.voterToken, choices: change!.choices, weight: change!.weight, via: change!.via, replacesId: Number(other!.id), castAt: new Date(Number(change!.castMs)), nonce: change!.nonce });
    await tamper(sql`update ballots set replaces_id = ${other!.id}, content_hash = ${forged}, receipt = ${receiptOf(forged)} where id = ${change!.id}`);
    expect(await verifyChain(database.db, d.id)).toMatchObject({ ok: false, first: { seq: null, id: Number(change!.id), problem: 'replaces' } });
    await link(d.id);
    expect(await blocksOf(d.id)).toEqual([[1, 2]]);
    expect(await verifyChain(database.db, d.id)).toMatchObject({ ok: false, first: { seq: 3, id: Number(change!.id), problem: 'replaces' } });
  });

  it('closes by the timer sweep alone (no wake-up), then publishes a frozen result and a 居务公开 notice', async () => {
    const c = await openOne({ closesAt: new Date(Date.now() + 1500), rule: 'quorum_majority', quorumPct: 10 });
    for (let i = 0; i < 6; i++) await cast(c.id, residents[i]![0]!, [i < 4 ? 0 : 1]);
    await new Promise((r) => setTimeout(r, 1700));
    const handlers = new Map([consultationCloseTimer, consultationRemindTimer].map((make) => make({ config: { notices: { timeZone: 'Asia/Shanghai' } } } as never)).map((h) => [h.kind, h]));
    const fired = await fireDueTimers({ work, handlers, logger: createLogger('silent') });
    expect(fired.fired).toBeGreaterThanOrEqual(1);
    const [closed] = await database.db.select().from(consultations).where(eq(consultations.id, c.id));
    expect(closed!.status).toBe('closed');
    expect(await database.db.select().from(timers).where(eq(timers.subjectId, c.id))).toEqual([]);
    expect((await refusal(cast(c.id, residents[7]![0]!, [0]))).detail.ineligible).toBe('not_open');
    const result = await work.run((uow) => publishConsultation(uow, estate.secretary, c.id, new Date(), deps));
    expect(explainResult(zh, closed!, result)).toBe('按参与率加多数规则：参与 6/50（12.0%）；「同意」4 票，超过投票数的一半，获得通过。');
    const [pub] = await database.db.select().from(consultations).where(eq(consultations.id, c.id));
    expect(pub!.status).toBe('published');
    const [notice] = await database.db.select().from(notices).where(eq(notices.id, pub!.resultNoticeId!));
    expect(notice).toMatchObject({ category: 'affairs', title: '【协商结果】是否加装电梯', status: 'sending' });
    // Each voter reads the result explained in their own language.
    for (const l of ['ko', 'en'] as const) expect(notice!.texts?.[l]?.body).toContain(explainResult(messages(l), closed!, result));
    expect(notice!.texts?.ko?.title).toBe(messages('ko').consultations.resultTitle({ title: '是否加装电梯' }));
    expect((await refusal(work.run((uow) => publishConsultation(uow, estate.secretary, c.id, new Date(), deps)))).reason).toBe('frozen');
    // The receipt list: a voter finds their ballot, no identity involved.
    const [row] = await database.db.select().from(ballots).where(eq(ballots.consultationId, c.id)).limit(1);
    expect(await findReceipt(database.db, c.id, row!.receipt)).toEqual({ choices: row!.choices, counted: true });
  }, 60_000);

  it('closes early only where allowed, with the reason recorded', async () => {
    const fixed = await openOne();
    expect((await refusal(work.run((uow) => closeConsultation(uow, fixed.id, new Date(), { actorId: estate.secretary, reason: '情况有变' })))).reason).toBe('early_close_not_allowed');
    const early = await openOne({ earlyClose: true });
    await work.run((uow) => closeConsultation(uow, early.id, new Date(), { actorId: estate.secretary, reason: '全部住户已投票' }));
    const [row] = await database.db.select().from(consultations).where(eq(consultations.id, early.id));
    expect(row).toMatchObject({ status: 'closed', closeReason: '全部住户已投票' });
    expect(await database.db.select().from(timers).where(eq(timers.subjectId, early.id))).toEqual([]);
    // A closing timer firing afterwards changes nothing.
    expect(await work.run((uow) => closeConsultation(uow, early.id, new Date()))).toEqual({ closed: false });
  });

  it('reminds before closing only those whose household has not voted, once per chat', async () => {
    const c = await openOne({ closesAt: new Date(Date.now() + 3600_000) });
    const [remind] = await database.db.select().from(timers).where(eq(timers.subjectId, c.id));
    expect(remind).toBeDefined();
    for (let i = 0; i < 48; i++) await cast(c.id, residents[i]![0]!, [0]);
    const { work: w, sent } = recordingWork(database);
    expect(await w.run((uow) => remindNonVoters(uow, c.id, new Date(), 'Asia/Shanghai'))).toBe(4);
    // Homes 48 and 49: both residents of each; a second run writes nothing new (dedupe keys).
    expect(sent.messages).toHaveLength(4);
    expect(await w.run((uow) => remindNonVoters(uow, c.id, new Date(), 'Asia/Shanghai'))).toBe(0);
  });

  it('sends the reminder when its timer falls due (the timer sweep, no direct call), to non-voters only, once', async () => {
    const c = await openOne({ closesAt: new Date(Date.now() + 3600_000) });
    const [remind] = await database.db.select().from(timers).where(and(eq(timers.subjectId, c.id), eq(timers.kind, 'consultation-remind')));
    expect(remind!.dueAt.getTime()).toBeGreaterThan(Date.now());
    for (let i = 0; i < 49; i++) await cast(c.id, residents[i]![0]!, [0]);
    const { work: w, sent } = recordingWork(database);
    const handlers = new Map([consultationRemindTimer].map((make) => make({ config: { notices: { timeZone: 'Asia/Shanghai' } } } as never)).map((h) => [h.kind, h]));
    const fire = (now: Date) => fireDueTimers({ work: w, handlers, logger: createLogger('silent') }, { kind: 'consultation-remind', now });
    // Earlier tests' votes in this database have reminders due by then too; only this vote's is under test.
    await database.db.delete(timers).where(and(eq(timers.kind, 'consultation-remind'), sql`${timers.subjectId} <> ${c.id}`));
    // Not before its time.
    expect((await fire(new Date(remind!.dueAt.getTime() - 1000))).fired).toBe(0);
    expect(sent.messages).toHaveLength(0);
    expect((await fire(new Date(remind!.dueAt.getTime() + 1000))).fired).toBe(1);
    // Home 49 alone has not voted: its two residents, nobody else.
    expect(sent.messages).toHaveLength(2);
    // The same timer written again (a repeated wake-up) sends nothing twice.
    await database.db.insert(timers).values({ kind: remind!.kind, subjectId: remind!.subjectId, seq: remind!.seq, dueAt: remind!.dueAt }).onConflictDoNothing();
    await fire(new Date(remind!.dueAt.getTime() + 2000));
    expect(sent.messages).toHaveLength(2);
  });

  it('weights owners by floor area under art. 278 (a home with no area weighs nothing)', async () => {
    const c = await openOne({ basis: 'owners', rule: 'civil_code_278', earlyClose: true });
    // 45 owners (homes 5–49); area: homes 5–48 = sum(65..108) = 3806 m² (home 49 has none).
    expect(c.eligible).toMatchObject({ owners: 45, area: 380600 });
    // Homes 5–34 vote: 30 owners = exactly 2/3 of 45, but their area sum(65..94) = 2385 m² is under 2/3 of 3806 (2537.3).
    for (let i = 5; i < 35; i++) await cast(c.id, residents[i]![0]!, [0]);
    let out = await work.run((uow) => closeConsultation(uow, c.id, new Date(), { actorId: estate.secretary, reason: '测试' }));
    expect(out.closed && out.result.decision).toMatchObject({ valid: false, invalid: ['area_turnout'] });
    // The same with the largest homes (19–48 plus 49 without area): 31 owners, area sum(79..108) = 2805 m² ≥ 2537.3.
    const d = await openOne({ basis: 'owners', rule: 'civil_code_278', earlyClose: true });
    for (let i = 19; i < 50; i++) await cast(d.id, residents[i]![0]!, [i === 49 ? 1 : 0]);
    out = await work.run((uow) => closeConsultation(uow, d.id, new Date(), { actorId: estate.secretary, reason: '测试' }));
    expect(out.closed && out.result.tally).toMatchObject({ ballots: 31, area: 280500, options: [{ count: 30, area: 280500 }, { count: 1, area: 0 }, { count: 0, area: 0 }] });
    expect(out.closed && out.result.decision).toMatchObject({ valid: true, passed: true, winners: [0] });
  });
});
