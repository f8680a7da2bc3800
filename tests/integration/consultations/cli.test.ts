import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMER_HANDLERS } from '../../../jobs/registry.js';
import { timerSweepJob } from '../../../jobs/timers.js';
import type { JobServices } from '../../../jobs/define.js';
import { auditLog, consultations, notices, staffAssignments, timers } from '../../../db/schema/index.js';
import { runConsultationCli } from '../../../src/consultations/cli.js';
import { castBallot, ConsultationError, getConsultation } from '../../../src/consultations/commands.js';
import { publishedBallots } from '../../../src/consultations/queries.js';
import { refusalText } from '../../../src/consultations/explain.js';
import { CONSULTATION_OPEN_TIMER, currentResult } from '../../../src/consultations/lifecycle.js';
import { loadConfig } from '../../../src/config.js';
import { parseCliArgs, runCli } from '../../../src/cli.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { getUnit, insertOrgUnit } from '../../../src/org/tree.js';
import { codeKey } from '../../../src/secrets.js';
import { fireDueTimers } from '../../../src/timers/fire.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createEstate, recordingWork, type Estate } from '../../support/consultation-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../../support/db.js';
import { flushPrefix } from '../../support/redis.js';

const zh = messages('zh-CN');

describe('npm run linli -- consultation … and verify-ballots (real PostgreSQL and Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let estate: Estate;
  let config: ReturnType<typeof loadConfig>;
  const prefix = uniqueQueuePrefix();
  const residents: string[] = [];
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    await runConsultationCli(argv, config, database, (l) => lines.push(l));
    return lines.join('\n');
  };
  const verify = async (id: string) => {
    const lines: string[] = [];
    const outcome = await runCli(parseCliArgs(['verify-ballots', id]), config, (l) => lines.push(l)).then(() => 'ok', (e: Error) => e.message);
    return { outcome, text: lines.join('\n') };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    estate = await createEstate(database, { buildings: 2, perBuilding: 3, owner: () => true, area: (i) => 80 + i });
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', NOTICE_QUIET_HOURS: '00:00-00:00' });
    for (const h of estate.households) residents.push(await makePerson(database, { householdId: h.id }));
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
    await flushPrefix(prefix);
  });

  it('creates, opens, takes paper and proxy ballots, shows turnout, closes early, publishes and verifies', async () => {
    const as = estate.secretary;
    const created = await run('create', '--as', as, '--to', estate.community.code, '--title', '维修基金使用', '--text', '使用维修基金更换1号楼屋面防水。',
      '--option', '同意', '--option', '不同意', '--basis', 'owners', '--rule', 'civil_code_278', '--weighty', '--early-close', '--closes', '2099-01-01 12:00');
    const id = created.split(/\s+/)[0]!;
    expect(await run('open', id, '--as', as)).toBe('open: 6 residents, 6 households, 6 owners (495 m²); announced');
    const [h0, h1] = estate.households;
    expect(await run('paper', id, '--as', as, '--household', h0!.code, '--choice', '1')).toMatch(/^paper ballot for .*: stored; receipt [0-9a-f]{12}$/);
    await run('proxy', id, '--as', as, '--household', h1!.code, '--choice', '1', '--grantor', '业主李某', '--proxy', '邻居张某', '--document', '委托书 017');
    await expect(run('paper', id, '--as', as, '--household', h1!.code, '--choice', '2')).rejects.toThrow('您家已经以「委托投票」方式投过票');
    const key = codeKey(config);
    for (const p of residents.slice(2, 5)) await database.db.transaction((tx) => castBallot(tx, key, id, p, [0], new Date()));
    expect(await run('turnout', id, '--as', as)).toBe(
      ['[open] 5 voters, 5/6 households, 410/495 m²; needs 2/3 of owners and of area', '  1号楼\t3/3 households\t243/243 m²', '  2号楼\t2/3 households\t167/252 m²'].join('\n'),
    );
    await expect(run('result', id, '--as', as)).rejects.toThrow('这项协商现在不能这样操作。');
    await expect(run('close', id, '--as', as)).rejects.toThrow();
    expect(await run('close', id, '--as', as, '--reason', '业主大会已结束')).toBe(
      'closed: 按《民法典》第二百七十八条规则：参与业主 5/6 户、专有面积 410/495 m²；「同意」5 户、410 m²，达到参与面积和参与人数的四分之三，获得通过。',
    );
    await run('publish', id, '--as', as);
    const list = (await run('ballots', id)).split('\n');
    expect(list).toHaveLength(5);
    expect(list.every((l) => /^[0-9a-f]{12}\t同意$/.test(l))).toBe(true);
    expect(await verify(id)).toEqual({ outcome: 'ok', text: 'chain ok: 5 ballots\ntally ok: 5 counted; 同意 5, 不同意 0; passed' });
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql`update ballots set weight = 1 where consultation_id = ${id} and seq = 2`);
    });
    expect(await verify(id)).toEqual({ outcome: 'verification failed', text: 'chain BROKEN at ballot #2 (content); 5 rows' });
  }, 60_000);

  it('lists a community’s topics by support and answers one, telling its proposer', async () => {
    const as = estate.secretary;
    const { proposeTopic, supportTopic } = await import('../../../src/consultations/topics.js');
    const [h0, h1] = estate.households;
    const topic = await database.db.transaction((tx) => proposeTopic(tx, residents[0]!, h0!.id, { title: '楼道照明', body: '2号楼楼道灯坏了很久。' }, new Date()));
    await database.db.transaction((tx) => proposeTopic(tx, residents[1]!, h1!.id, { title: '垃圾分类', body: '希望增加分类垃圾桶。' }, new Date()));
    await database.db.transaction((tx) => supportTopic(tx, topic.id, residents[2]!, estate.households[2]!.id, new Date()));
    expect((await run('topics', estate.community.code, '--as', as)).split('\n').map((l) => l.split('\t').slice(1).join(' '))).toEqual(['1 support [open] 楼道照明', '0 support [open] 垃圾分类']);
    expect(await run('answer', String(topic.id), '--as', as, '--text', '已报物业，本周内修好。')).toBe('answered; the proposer was told');
    const [row] = (await database.db.execute(sql`select status, answer from consultation_topics where id = ${topic.id}`)) as unknown as { status: string; answer: string }[];
    expect(row).toEqual({ status: 'answered', answer: '已报物业，本周内修好。' });
    const told = (await database.db.execute(sql`select o.payload->>'text' as text from outbox o join channel_identities ci on ci.id = o.identity_id where ci.person_id = ${residents[0]!}`)) as unknown as { text: string }[];
    expect(told.map((r) => r.text)).toContain('您提出的议题「楼道照明」有了结果：社区答复：已报物业，本周内修好。');
  });

  it('declines a topic: recorded as declined with the reason, audited, and its proposer hears it was declined', async () => {
    const as = estate.secretary;
    const { proposeTopic } = await import('../../../src/consultations/topics.js');
    const topic = await database.db.transaction((tx) => proposeTopic(tx, residents[3]!, estate.households[3]!.id, { title: '小区内设摊', body: '希望允许周末在小区广场摆摊。' }, new Date()));
    expect(await run('answer', String(topic.id), '--as', as, '--text', '涉及消防通道，暂不采纳。', '--decline')).toBe('declined; the proposer was told');
    const [row] = (await database.db.execute(sql`select status, answer, answered_by as "by" from consultation_topics where id = ${topic.id}`)) as unknown as { status: string; answer: string; by: string }[];
    expect(row).toEqual({ status: 'declined', answer: '涉及消防通道，暂不采纳。', by: as });
    expect(await database.db.select({ actorId: auditLog.actorId }).from(auditLog).where(and(eq(auditLog.action, 'topic.declined'), eq(auditLog.subjectId, String(topic.id))))).toEqual([{ actorId: as }]);
    const told = (await database.db.execute(sql`select o.payload->>'text' as text from outbox o join channel_identities ci on ci.id = o.identity_id where ci.person_id = ${residents[3]!}`)) as unknown as { text: string }[];
    expect(told.map((r) => r.text)).toEqual(['您提出的议题「小区内设摊」有了结果：社区暂不采纳，说明：涉及消防通道，暂不采纳。']);
  });

  /** A vote of households 3–5 (chat, chat, paper) created, opened, closed early and published through the CLI. */
  const publishedVote = async (title: string, ...flags: string[]) => {
    const as = estate.secretary;
    const id = (await run('create', '--as', as, '--to', estate.community.code, '--title', title, '--text', '测试背景说明', '--option', '同意', '--option', '不同意', '--basis', 'households', '--early-close', '--closes', '2099-01-01 12:00', ...flags)).split(/\s+/)[0]!;
    await run('open', id, '--as', as);
    const key = codeKey(config);
    await database.db.transaction((tx) => castBallot(tx, key, id, residents[3]!, [0], new Date()));
    await database.db.transaction((tx) => castBallot(tx, key, id, residents[4]!, [1], new Date()));
    await run('paper', id, '--as', as, '--household', estate.households[5]!.code, '--choice', '1');
    await run('close', id, '--as', as, '--reason', '测试结束');
    await run('publish', id, '--as', as);
    return id;
  };

  it('lists the published ballots with voters’ names only in an open vote that says so', async () => {
    await database.db.execute(sql`update people set display_name = case id when ${residents[3]!} then '王阿姨' when ${residents[4]!} then '李师傅' end where id in (${residents[3]!}, ${residents[4]!})`);
    const named = await publishedVote('公开记名的投票', '--open-ballot', '--show-names');
    const fields = (await run('ballots', named)).split('\n').map((l) => l.split('\t'));
    expect(fields.map((f) => f[0])).toEqual(fields.map(() => expect.stringMatching(/^[0-9a-f]{12}$/)));
    // A paper ballot is the household's: its home is named.
    expect(fields.map((f) => f.slice(1))).toEqual([['同意', '王阿姨'], ['不同意', '李师傅'], ['同意', estate.households[5]!.name]]);
    for (const flags of [['--open-ballot'], []]) {
      const id = await publishedVote(`不记名的投票 ${flags.join(' ')}`, ...flags);
      expect((await run('ballots', id)).split('\n').map((l) => l.split('\t').slice(1))).toEqual([['同意'], ['不同意'], ['同意']]);
      // A secret vote names nobody even were its row to say show names (the draft refuses that).
      const c = (await getConsultation(database.db, id))!;
      expect((await publishedBallots(database.db, { ...c, showNames: true })).map((b) => b.name)).toEqual(c.secret ? [undefined, undefined, undefined] : ['王阿姨', '李师傅', estate.households[5]!.name]);
    }
  }, 60_000);

  it('verify-ballots names a published result that no longer matches the ballots, the chain being intact', async () => {
    const id = await publishedVote('被改过的结果');
    expect(await verify(id)).toEqual({ outcome: 'ok', text: 'chain ok: 3 ballots\ntally ok: 3 counted; 同意 2, 不同意 1; passed' });
    // Someone with write access to the database turns the frozen result around; the ballots stay.
    await database.db.execute(sql`update consultations set result = jsonb_set(jsonb_set(result, '{tally,options,0,count}', '1'), '{tally,options,1,count}', '2') where id = ${id}`);
    const [c] = await database.db.select().from(consultations).where(eq(consultations.id, id));
    const recomputed = { ballots: 3, area: 0, options: [{ count: 2, area: 0 }, { count: 1, area: 0 }] };
    expect(await verify(id)).toEqual({ outcome: 'verification failed', text: `chain ok: 3 ballots\ntally MISMATCH: recomputed ${JSON.stringify(recomputed)} vs published ${JSON.stringify((c!.result as { tally: unknown }).tally)}` });
  }, 60_000);

  it('verify-ballots names a published decision turned around while the counts were left alone', async () => {
    const id = await publishedVote('被改过的决定');
    await database.db.execute(sql`update consultations set result = jsonb_set(jsonb_set(result, '{decision,passed}', 'false'), '{decision,winners}', '[]') where id = ${id}`);
    const [c] = await database.db.select().from(consultations).where(eq(consultations.id, id));
    const published = (c!.result as { decision: { passed: boolean } }).decision;
    expect(published.passed).toBe(false);
    const v = await verify(id);
    expect(v.outcome).toBe('verification failed');
    expect(v.text).toMatch(/^chain ok: 3 ballots\ndecision MISMATCH: recomputed \{.*"passed":true.*\} vs published /);
    expect(v.text).toContain(JSON.stringify(published));
  }, 60_000);

  const args = (as: string, title: string, ...more: string[]) => ['create', '--as', as, '--title', title, '--text', '测试背景说明', '--option', '同意', '--option', '不同意', '--basis', 'households', ...more];
  const byTitle = async (title: string) => database.db.select().from(consultations).where(eq(consultations.title, title));
  /** What a person was sent (outbox rows of their chats). */
  const told = async (personId: string) =>
    ((await database.db.execute(sql`select o.payload->>'text' as text from outbox o join channel_identities ci on ci.id = o.identity_id where ci.person_id = ${personId} order by o.id`)) as unknown as { text: string }[]).map((r) => r.text);
  /** THE timer sweep (jobs/timers.ts) with every registered timer handler, as a worker runs it; no Redis wake-up involved. */
  const sweep = async () => {
    const { work } = recordingWork(database);
    const base = { database, config, work, logger: createLogger('silent') } as unknown as Omit<JobServices, 'timerHandlers'>;
    const services = { ...base, timerHandlers: new Map(TIMER_HANDLERS.map((make) => make(base)).map((h) => [h.kind, h])) } as JobServices;
    return (await timerSweepJob.handler(services)({}, undefined as never)) as { fired: number };
  };

  it('creates with --opens: a draft until the timer sweep opens it at that time, once, announced to the voters', async () => {
    const as = estate.secretary;
    const opensAt = new Date(Date.now() + 1500);
    const created = await run(...args(as, '定时开始的投票', '--to', estate.community.code, '--closes', '2099-01-01 12:00', '--opens', opensAt.toISOString()));
    expect(created).toMatch(/^[0-9a-f-]{36} {2}\[draft\] "定时开始的投票" opens \d{4}-\d\d-\d\d \d\d:\d\d closes 2099-01-01 12:00\n {2}it opens by itself then/);
    const id = created.split(/\s+/)[0]!;
    expect((await byTitle('定时开始的投票'))[0]).toMatchObject({ status: 'draft', opensAt, noticeId: null });
    const [timer] = await database.db.select().from(timers).where(and(eq(timers.kind, CONSULTATION_OPEN_TIMER), eq(timers.subjectId, id)));
    expect(timer).toMatchObject({ dueAt: opensAt, data: { by: as } });
    // Before its time the sweep leaves it alone.
    await sweep();
    expect((await byTitle('定时开始的投票'))[0]!.status).toBe('draft');
    await new Promise((r) => setTimeout(r, opensAt.getTime() - Date.now() + 100));
    expect((await sweep()).fired).toBeGreaterThanOrEqual(1);
    const [opened] = await byTitle('定时开始的投票');
    expect(opened).toMatchObject({ status: 'open', eligible: { households: 6 } });
    expect(opened!.openedAt!.getTime()).toBeGreaterThanOrEqual(opensAt.getTime());
    const announced = await database.db.select().from(notices).where(eq(notices.id, opened!.noticeId!));
    expect(announced).toMatchObject([{ title: zh.consultations.announceTitle({ title: '定时开始的投票' }), category: 'affairs', status: 'sending' }]);
    expect(await told(as)).toContain(zh.consultationStaff.openedOnTime({ title: '定时开始的投票' }));
    expect(await database.db.select().from(timers).where(and(eq(timers.kind, CONSULTATION_OPEN_TIMER), eq(timers.subjectId, id)))).toEqual([]);
    // Residents can vote now.
    expect((await database.db.transaction((tx) => castBallot(tx, codeKey(config), id, residents[0]!, [0], new Date()))).stored).toBe(true);
    // The same timer fired again (armed twice, a duplicate wake-up): no second opening or announcement.
    await database.db.insert(timers).values({ kind: CONSULTATION_OPEN_TIMER, subjectId: id, seq: 1, dueAt: new Date(Date.now() - 1000), data: { by: as } });
    expect((await sweep()).fired).toBeGreaterThanOrEqual(1);
    expect(await database.db.select().from(auditLog).where(and(eq(auditLog.subjectId, id), eq(auditLog.action, 'consultation.open')))).toHaveLength(1);
    expect(await database.db.select().from(notices).where(eq(notices.title, zh.consultations.announceTitle({ title: '定时开始的投票' })))).toHaveLength(1);
    expect((await byTitle('定时开始的投票'))[0]).toMatchObject({ status: 'open', openedAt: opened!.openedAt, opensAt });
    expect((await told(as)).filter((text) => text.includes('定时开始的投票'))).toEqual([zh.consultationStaff.openedOnTime({ title: '定时开始的投票' })]);
  }, 60_000);

  it('refuses a closing time before the opening time, and an opening time gone by, leaving no draft; `open --opens` schedules, `open` opens at once', async () => {
    const as = estate.secretary;
    await expect(run(...args(as, '先截止后开始', '--to', estate.community.code, '--closes', '2099-01-01 12:00', '--opens', '2099-02-01 09:00'))).rejects.toThrow(zh.consultationStaff.refused_closes_before_opens);
    await expect(run(...args(as, '先截止后开始', '--to', estate.community.code, '--closes', '2099-01-01 12:00', '--opens', '2020-01-01T09:00:00+08:00'))).rejects.toThrow(zh.consultationStaff.refused_opens_in_past);
    await expect(run(...args(as, '先截止后开始', '--to', estate.community.code, '--closes', '2099-01-01 12:00', '--opens', 'tomorrow'))).rejects.toThrow('--opens takes');
    expect(await byTitle('先截止后开始')).toEqual([]);
    const id = (await run(...args(as, '稍后安排', '--to', estate.community.code, '--closes', '2099-01-01 12:00'))).split(/\s+/)[0]!;
    await expect(run('open', id, '--as', as, '--opens', '2099-01-02 09:00')).rejects.toThrow(zh.consultationStaff.refused_closes_before_opens);
    expect(await run('open', id, '--as', as, '--opens', '2098-12-01 09:00')).toBe('scheduled: opens 2098-12-01 09:00, closes 2099-01-01 12:00; announced then');
    // Opened by hand before its time: at once, and its opening timer is gone.
    expect(await run('open', id, '--as', as)).toMatch(/^open: /);
    expect(await database.db.select().from(timers).where(and(eq(timers.kind, CONSULTATION_OPEN_TIMER), eq(timers.subjectId, id)))).toEqual([]);
    await expect(run('open', id, '--as', as, '--opens', '2098-12-01 09:00')).rejects.toThrow(zh.consultations.wrongStatus);
  });

  it('takes the quorum and majority thresholds of a quorum vote (--quorum, --majority) and decides by them; refuses thresholds out of range', async () => {
    const e = await createEstate(database, { buildings: 3, perBuilding: 2 });
    const voters = await Promise.all(e.households.map((h) => makePerson(database, { householdId: h.id })));
    const create = async (title: string, ...more: string[]) => (await run(...args(e.secretary, title, '--to', e.community.code, '--closes', '2099-01-01 12:00', '--rule', 'quorum_majority', ...more))).split(/\s+/)[0]!;
    const vote = (id: string, who: string, choice: number) => database.db.transaction((tx) => castBallot(tx, codeKey(config), id, who, [choice], new Date()));
    const decision = async (id: string) => (await currentResult(database.db, (await getConsultation(database.db, id))!)).decision;

    // 60 % of the 6 homes must take part, and an option needs more than 66 % of the ballots.
    const strict = await create('门禁改造（严格门槛）', '--quorum', '60', '--majority', '66');
    expect(await getConsultation(database.db, strict)).toMatchObject({ rule: 'quorum_majority', quorumPct: 60, majorityPct: 66 });
    await run('open', strict, '--as', e.secretary);
    for (const [i, who] of voters.slice(0, 3).entries()) await vote(strict, who, i < 2 ? 0 : 1);
    // 3 of 6 homes: 50 %, under the quorum.
    expect(await decision(strict)).toMatchObject({ valid: false, invalid: ['quorum'], passed: false });
    for (const who of voters.slice(3, 5)) await vote(strict, who, 0);
    // 5 of 6 take part; 同意 has 4 of 5 = 80 % > 66 %: passed.
    expect(await decision(strict)).toMatchObject({ valid: true, winners: [0], passed: true });

    // The same ballots short of a 66 % majority: 3 of 5 = 60 % (which the default 50 % would pass).
    const [loose, tight] = [await create('门禁改造（默认门槛）'), await create('门禁改造（三分之二）', '--quorum', '60', '--majority', '66')];
    for (const id of [loose, tight]) {
      await run('open', id, '--as', e.secretary);
      for (const [i, who] of voters.slice(0, 5).entries()) await vote(id, who, i < 3 ? 0 : 1);
    }
    expect(await decision(loose)).toMatchObject({ valid: true, passed: true });
    expect(await decision(tight)).toMatchObject({ valid: true, winners: [], passed: false });

    // Out of range: refused with the reason, no draft written.
    for (const bad of [['--quorum', '0'], ['--quorum', '150'], ['--majority', '40'], ['--majority', '100']]) {
      const err = await run(...args(e.secretary, `坏门槛 ${bad.join(' ')}`, '--to', e.community.code, '--closes', '2099-01-01 12:00', '--rule', 'quorum_majority', ...bad)).then(() => undefined, (x: Error) => x);
      expect(err?.message, bad.join(' ')).toMatch(/quorum|majority/i);
      expect(await byTitle(`坏门槛 ${bad.join(' ')}`)).toEqual([]);
    }
  }, 60_000);

  it('scopes a vote to a grid or to two buildings; who may vote follows the scope, and a resident outside is told why', async () => {
    const e = await createEstate(database, { buildings: 3, perBuilding: 2 });
    const g1 = (await getUnit(database.db, e.buildings[0]!.parentId!))!;
    // A second grid with one home, outside the first.
    const far = await database.db.transaction(async (tx) => {
      const g2 = await insertOrgUnit(tx, { kind: 'grid', parentId: e.community.id, code: `${e.community.code}-G2`, name: '第二网格' });
      const b = await insertOrgUnit(tx, { kind: 'building', parentId: g2.id, code: `${g2.code}-B9`, name: '9号楼' });
      const u = await insertOrgUnit(tx, { kind: 'unit', parentId: b.id, code: `${b.code}-U1`, name: '1单元' });
      return insertOrgUnit(tx, { kind: 'household', parentId: u.id, code: `${u.code}-101`, name: '101' });
    });
    const person = async (householdId: number) => makePerson(database, { householdId });
    const [inB1, inB2, inB3, outside] = [await person(e.households[0]!.id), await person(e.households[2]!.id), await person(e.households[4]!.id), await person(far.id)];
    const refusal = async (id: string, who: string) => {
      const err = await database.db.transaction((tx) => castBallot(tx, codeKey(config), id, who, [0], new Date())).then(() => undefined, (x: unknown) => x);
      expect(err).toBeInstanceOf(ConsultationError);
      return refusalText(zh, err as ConsultationError);
    };
    const vote = async (id: string, who: string) => (await database.db.transaction((tx) => castBallot(tx, codeKey(config), id, who, [0], new Date()))).stored;

    const grid = (await run(...args(e.secretary, '第一网格的投票', '--to', g1.code, '--closes', '2099-01-01 12:00'))).split(/\s+/)[0]!;
    expect(await run('open', grid, '--as', e.secretary)).toMatch(/^open: \d+ residents, 6 households/);
    expect(await vote(grid, inB3)).toBe(true);
    expect(await refusal(grid, outside)).toBe(zh.consultations.ineligible_outside_scope);

    const two = (await run(...args(e.secretary, '两栋楼的投票', '--to', e.buildings[0]!.code, '--to', e.buildings[1]!.code, '--closes', '2099-01-01 12:00'))).split(/\s+/)[0]!;
    expect(await run('open', two, '--as', e.secretary)).toMatch(/^open: \d+ residents, 4 households/);
    expect(await vote(two, inB1)).toBe(true);
    expect(await vote(two, inB2)).toBe(true);
    expect(await refusal(two, inB3)).toBe(zh.consultations.ineligible_outside_scope);
    expect(await refusal(two, outside)).toBe(zh.consultations.ineligible_outside_scope);
  }, 60_000);

  it('lets staff create only where their role reaches (the notices’ role × area policy), refusing others with the reason', async () => {
    const e = await createEstate(database, { buildings: 2, perBuilding: 1 });
    const g1 = (await getUnit(database.db, e.buildings[0]!.parentId!))!;
    const gridWorker = await makePerson(database);
    await assign(database, gridWorker, 'grid_worker', g1.id);
    const buildingHead = await makePerson(database);
    await assign(database, buildingHead, 'building_head', e.buildings[0]!.id);
    // A grid worker assigned at the community: the role is a grid's, so it reaches nothing there.
    const misplaced = await makePerson(database);
    await assign(database, misplaced, 'grid_worker', e.community.id);
    const resident = await makePerson(database, { householdId: e.households[0]!.id });
    const closes = ['--closes', '2099-01-01 12:00'];
    const outside = zh.consultations.outsideArea;
    await expect(run(...args(gridWorker, '网格员发社区投票', '--to', e.community.code, ...closes))).rejects.toThrow(outside);
    await expect(run(...args(buildingHead, '楼栋长发别楼投票', '--to', e.buildings[1]!.code, ...closes))).rejects.toThrow(outside);
    await expect(run(...args(misplaced, '错位的网格员', '--to', e.community.code, ...closes))).rejects.toThrow(outside);
    await expect(run(...args(resident, '居民发起', '--to', e.buildings[0]!.code, ...closes))).rejects.toThrow(zh.consultations.notStaff);
    expect(await database.db.select().from(consultations).where(sql`${consultations.authorId} in (${gridWorker}, ${buildingHead}, ${misplaced}, ${resident})`)).toEqual([]);
    expect(await run(...args(gridWorker, '网格员发网格投票', '--to', g1.code, ...closes))).toMatch(/\[draft\]/);
    expect(await run(...args(buildingHead, '楼栋长发本楼投票', '--to', e.buildings[0]!.code, ...closes))).toMatch(/\[draft\]/);
  });

  it('keeps a scheduled vote a draft when its scheduler no longer reaches the area at opening time, and tells them why', async () => {
    const e = await createEstate(database, { buildings: 1, perBuilding: 1 });
    const g1 = (await getUnit(database.db, e.buildings[0]!.parentId!))!;
    const worker = await makePerson(database);
    await assign(database, worker, 'grid_worker', g1.id);
    const opensAt = new Date(Date.now() + 3_600_000);
    const id = (await run(...args(worker, '换人之后', '--to', g1.code, '--closes', '2099-01-01 12:00', '--opens', opensAt.toISOString()))).split(/\s+/)[0]!;
    await database.db.update(staffAssignments).set({ active: false }).where(eq(staffAssignments.personId, worker));
    // Its time comes (injected into the timer facility).
    const { work } = recordingWork(database);
    const handlers = new Map(TIMER_HANDLERS.map((make) => make({ config } as never)).map((h) => [h.kind, h]));
    expect((await fireDueTimers({ work, handlers, logger: createLogger('silent') }, { kind: CONSULTATION_OPEN_TIMER, now: new Date(opensAt.getTime() + 1000) })).fired).toBe(1);
    const [row] = await byTitle('换人之后');
    expect(row).toMatchObject({ id, status: 'draft', opensAt: null, noticeId: null });
    expect(await told(worker)).toEqual([zh.consultationStaff.openFailed({ title: '换人之后', reason: zh.consultations.notStaff })]);
    expect(await database.db.select().from(timers).where(eq(timers.subjectId, id))).toEqual([]);
  });
});
