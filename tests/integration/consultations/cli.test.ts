import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConsultationCli } from '../../../src/consultations/cli.js';
import { castBallot } from '../../../src/consultations/commands.js';
import { loadConfig } from '../../../src/config.js';
import { parseCliArgs, runCli } from '../../../src/cli.js';
import { codeKey } from '../../../src/secrets.js';
import { makePerson } from '../../support/case-fixture.js';
import { createEstate, type Estate } from '../../support/consultation-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../../support/db.js';
import { flushPrefix } from '../../support/redis.js';

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
});
