import { asc, eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCliArgs, runCli } from '../../../src/cli.js';
import { activities, activitySessions, channelIdentities, outbox } from '../../../db/schema/index.js';
import { addMembership } from '../../../src/audience/groups.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { fanOutNotice } from '../../../src/notices/fanout.js';
import { formatLocal, parseLocal } from '../../../src/notices/rules.js';
import { signUp } from '../../../src/activities/signups.js';
import { loadConfig } from '../../../src/config.js';
import { ACTIVITY_SETTINGS, quietWork } from '../../support/activity-fixture.js';
import { resident } from '../../support/notice-fixture.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../../support/db.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';
import { flushPrefix } from '../../support/redis.js';

describe('npm run linli -- activity … / volunteer … (real PostgreSQL and Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let secretary: string;
  let worker: string;
  const prefix = uniqueQueuePrefix();
  let config: ReturnType<typeof loadConfig>;
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    await runCli(parseCliArgs(argv), config, (l) => lines.push(l));
    return lines.join('\n');
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    worker = await makePerson(database);
    await assign(database, worker, 'grid_worker', town.grid.id);
  });
  afterAll(async () => {
    await database?.drop();
    await flushPrefix(prefix);
  });

  it('creates a weekly 四点半课堂 series, reports it, and keeps its children from non-organisers', async () => {
    const from = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const until = new Date(Date.now() + 22 * 86_400_000).toISOString().slice(0, 10);
    const created = await run('activity', 'create', '--as', secretary, '--community', town.community.code, '--kind', 'after_school', '--title', '四点半课堂', '--capacity', '20', '--venue', '社区活动室', '--weekday', '3', '--time', '16:30', '--from', from, '--until', until);
    const id = /^([0-9a-f-]{36})\s+(\d+) session/.exec(created)!;
    expect(Number(id[2])).toBeGreaterThanOrEqual(3);
    expect(created).toMatch(/16:30 {2}check-in code [2-9A-Z]{4}/);
    expect(await run('activity', 'report', id[1]!, '--as', secretary)).toContain('0/20 confirmed');
    await expect(run('activity', 'children', id[1]!, '--as', worker)).rejects.toThrow('只有该活动的组织者可以查看');
    // The organiser sees the child and who picks up, the guardian's phone masked as in chat.
    const [first] = await database.db.select({ id: activitySessions.id }).from(activitySessions).where(eq(activitySessions.activityId, id[1]!)).orderBy(asc(activitySessions.startsAt)).limit(1);
    const sessionId = first!.id;
    const parent = await resident(database, town.households[0]!.id);
    await quietWork(database).run((uow) =>
      signUp(uow, { sessionId, personId: parent.personId, child: { childName: '王小明', childGrade: '三年级', guardianName: '李红', guardianPhone: '13800001234' } }, new Date(), ACTIVITY_SETTINGS),
    );
    const children = await run('activity', 'children', id[1]!, '--as', secretary);
    expect(children).toContain('王小明 三年级  guardian 李红 138****1234');
    expect(children).not.toContain('13800001234');
    expect(await run('activity', 'coverage', '--as', secretary, '--unit', town.community.code)).toContain('law\t0/2  ← below aim');
  });

  it('takes the sign-up window and the audience groups; refuses a window past the start and an unknown group; announces to the group only', async () => {
    const t = messages('zh-CN').activities;
    const elder = await resident(database, town.households[1]!.id);
    const neighbour = await resident(database, town.households[2]!.id);
    await database.db.transaction((tx) => addMembership(tx, 'elderly', { personId: elder.personId }, { personId: secretary, source: 'staff' }));
    const day = 86_400_000;
    const local = (ms: number) => formatLocal(new Date(Date.now() + ms), 'Asia/Shanghai');
    const create = (...more: string[]) =>
      run('activity', 'create', '--as', secretary, '--community', town.community.code, '--kind', 'lecture', '--title', '冬季养生讲座', '--capacity', '30', '--venue', '社区活动室', '--at', local(5 * day), ...more);
    await expect(create('--signup-opens', local(day), '--signup-closes', local(6 * day))).rejects.toThrow(t.err_signup_closes_after_start);
    await expect(create('--signup-opens', local(3 * day), '--signup-closes', local(2 * day))).rejects.toThrow(t.err_signup_closes_before_opens);
    await expect(create('--signup-opens', 'tomorrow')).rejects.toThrow('--signup-opens takes "YYYY-MM-DD HH:MM"');
    await expect(create('--group', 'elderly,kids')).rejects.toThrow('--group takes elderly');
    expect(await database.db.select().from(activities).where(eq(activities.title, '冬季养生讲座'))).toEqual([]);

    const created = await create('--signup-opens', local(day), '--signup-closes', local(3 * day), '--group', 'elderly');
    const [, id, noticeId] = /^([0-9a-f-]{36}) .*notice ([0-9a-f-]{36})/.exec(created)!;
    expect(created).toContain(`sign-up ${local(day)} – ${local(3 * day)}, for elderly`);
    const [row] = await database.db.select().from(activities).where(eq(activities.id, id!));
    expect(row).toMatchObject({ groups: ['elderly'], signupOpensAt: parseLocal(local(day), 'Asia/Shanghai'), signupClosesAt: parseLocal(local(3 * day), 'Asia/Shanghai') });
    // The announcement's fan-out (what the notice worker runs) reaches the elderly resident only.
    const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };
    await fanOutNotice({ database, delivery: { enqueue: async () => {} }, logger: createLogger('silent'), pageSize: 10, quiet }, noticeId!, 0);
    const reached = await database.db
      .selectDistinct({ personId: channelIdentities.personId })
      .from(outbox)
      .innerJoin(channelIdentities, eq(channelIdentities.id, outbox.identityId))
      .where(like(outbox.dedupeKey, `n:${noticeId}:0:%`));
    expect(reached.map((r) => r.personId)).toEqual([elder.personId]);
    expect(reached.map((r) => r.personId)).not.toContain(neighbour.personId);
  });

  it('registers a volunteer profile and a task with its skills', async () => {
    const v = await makePerson(database, { householdId: town.households[0]!.id });
    expect(await run('volunteer', 'profile', '--person', v, '--community', town.community.code, '--skills', '理发，陪伴', '--team', '红马甲')).toContain('理发, 陪伴');
    const at = new Date(Date.now() + 86_400_000);
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', dateStyle: 'short', timeStyle: 'short' }).format(at);
    const task = await run('volunteer', 'task', '--as', secretary, '--community', town.community.code, '--title', '义务理发', '--place', '社区广场', '--at', local, '--minutes', '120', '--slots', '3', '--skills', '理发');
    expect(task).toMatch(/^task [0-9a-f-]{36}/);
  });
});
