import { and, eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceMemberships, mutedTopics, noticeReads, notices, outbox, timers } from '../../../db/schema/index.js';
import { createQueueBackend } from '../../../jobs/backend.js';
import { createJobs } from '../../../jobs/producer.js';
import { JOBS } from '../../../jobs/registry.js';
import { startWorkers } from '../../../jobs/workers.js';
import { followUpIn } from '../../../src/notices/follow.js';
import { createWork, type Work } from '../../../src/work/unit.js';
import { loadConfig } from '../../../src/config.js';
import { createDialog, type Dialog } from '../../../src/dialog/engine.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { confirmNotice, createNotice } from '../../../src/notices/commands.js';
import { createNoticeFlows } from '../../../src/notices/flows.js';
import { residentFlows } from '../../../src/residents/flows.js';
import { insertOrgUnit } from '../../../src/org/tree.js';
import { resident } from '../../support/notice-fixture.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../../support/db.js';
import { EngineChat } from '../../support/engine-chat.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';
import { flushPrefix } from '../../support/redis.js';
import { waitFor } from '../../support/wait.js';

const zh = messages('zh-CN');
const t = zh.notices;

describe('notices in chat and on the job system (dialog engine, BullMQ on Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let dialog: Dialog;
  let secretary: string;
  const prefix = uniqueQueuePrefix();
  const stops: (() => Promise<unknown>)[] = [];
  let config: ReturnType<typeof loadConfig>;
  let work: Work;
  const quietOff = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', NOTICE_QUIET_HOURS: '00:00-00:00' });
    const backend = createQueueBackend({ kind: 'redis', url: TEST_REDIS_URL, prefix });
    const jobs = createJobs(backend);
    const logger = createLogger('silent');
    work = createWork({ database, sink: jobs.sink, logger });
    const workers = await startWorkers({
      backend,
      database,
      adapters: new Map(),
      producer: jobs,
      config,
      logger,
      jobs: [JOBS.noticeFanout, JOBS.noticeSweep, JOBS.timerWake, JOBS.timerSweep],
      caseSweepEveryMs: 500,
      timerSweepEveryMs: 500,
    });
    stops.push(() => workers.close(), () => jobs.close(), () => backend.close());
    dialog = createDialog({ database, sink: jobs.sink, config, logger, flows: [...residentFlows, ...createNoticeFlows({ quiet: quietOff })] });
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
  });
  afterAll(async () => {
    for (const s of stops) await s();
    await database?.drop();
    await flushPrefix(prefix);
  });

  const residentChat = async (name: string) => {
    const chat = new EngineChat(dialog, database, name);
    await chat.text('你好');
    await chat.choose('简体中文');
    await chat.choose(zh.onboarding.agree);
    await chat.choose(zh.onboarding.bindInvite);
    await chat.text(town.inviteCode);
    expect(await chat.freshText()).toContain(zh.dialog.menuTitle);
    return chat;
  };

  it('lets a resident switch categories off (never 应急) and declare only their own groups', async () => {
    const chat = await residentChat('prefs-1');
    await chat.choose(zh.dialog.section_notices);
    await chat.choose(t.menuPrefs);
    const shown = await chat.fresh();
    const labels = shown.at(-1)!.choices!.map((c) => c.label);
    expect(labels).toContain(t.switchedOn({ name: t.category_activity }));
    expect(labels.some((l) => l.includes(t.category_emergency))).toBe(false);
    expect(shown.at(-1)!.text).toContain(t.groupKept({ name: t.category_emergency }));
    await chat.choose(t.switchedOn({ name: t.category_activity }));
    expect((await chat.fresh()).at(-1)!.choices!.map((c) => c.label)).toContain(t.switchedOff({ name: t.category_activity }));
    // A forged press for 应急 changes nothing.
    await chat.choice('np.t.emergency');
    await chat.choose(t.done);
    const person = (await chat.personId())!;
    expect((await database.db.select().from(mutedTopics).where(eq(mutedTopics.personId, person))).map((m) => m.topic)).toEqual(['notice.activity']);

    await chat.choose(zh.dialog.section_notices);
    await chat.choose(t.menuGroups);
    const offered = (await chat.fresh()).at(-1)!.choices!.map((c) => c.label);
    expect(offered).toContain(t.switchedOff({ name: t.group_elderly }));
    expect(offered.some((l) => l.includes(t.group_owners) || l.includes(t.group_party_members))).toBe(false);
    await chat.choose(t.switchedOff({ name: t.group_elderly }));
    await chat.choice('ng.t.party_members');
    await chat.choose(t.done);
    expect((await database.db.select().from(audienceMemberships).where(eq(audienceMemberships.personId, person))).map((m) => [m.group, m.source])).toEqual([['elderly', 'self']]);
  });

  it('releases a scheduled notice at its time through the job system, also after Redis lost the timer, and the resident sees it and confirms it by typing 收到', async () => {
    const chat = await residentChat('sched-1');
    const reader = await residentChat('sched-2');
    const db = database.db;
    const at = new Date(Date.now() + 1500);
    const n = await db.transaction((tx) => createNotice(tx, secretary, { title: '楼道清扫', body: '周六上午清扫楼道，请把杂物收回家。', category: 'general', scopeUnitIds: [town.building.id], sendAt: at }, new Date()));
    // Confirmed with what it asks for in the same unit of work: the release is a timer row.
    const follow = await work.run(async (uow) => {
      const f = await confirmNotice(uow.tx, secretary, n.id, new Date(), quietOff);
      await followUpIn(uow, f);
      return f;
    });
    expect(follow).toEqual({ kind: 'release_at', noticeId: n.id, at });
    expect((await db.select().from(timers).where(eq(timers.subjectId, n.id))).map((r) => [r.kind, r.seq])).toEqual([['notice-release', 1]]);
    // Redis loses the wake-up: the timer sweep still finds the timer due in the database.
    await flushPrefix(prefix, { queues: [JOBS.timerWake.name] });
    const rows = () => db.select().from(outbox).where(like(outbox.dedupeKey, `n:${n.id}:0:%`));
    await waitFor(async () => (await rows()).length > 0, 'the released notice', 15_000);
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    await waitFor(async () => (await db.select().from(notices).where(eq(notices.id, n.id)))[0]!.status === 'sent', 'the notice marked sent', 10_000);
    expect((await rows()).filter((r) => r.chatRef === 'sched-1')).toHaveLength(1);
    await reader.fresh();

    // Typed 收到 confirms it (once); on the web, opening 最新通知 counts as reading it too.
    await chat.fresh();
    await chat.text('收到');
    expect(await chat.freshText()).toContain(t.thanksRead);
    await chat.text('收到');
    expect(await chat.freshText()).toContain(t.nothingToConfirm);
    const person = (await reader.personId())!;
    const reads = () => db.select().from(noticeReads).where(and(eq(noticeReads.noticeId, n.id), eq(noticeReads.personId, person)));
    expect(await reads()).toHaveLength(0);
    await reader.choose(zh.dialog.section_notices);
    await reader.choose(t.menuRecent);
    expect(await reader.freshText()).toContain('楼道清扫');
    expect((await reads()).map((r) => r.via)).toEqual(['web']);
  });

  it('walks a staff member through compose to a preview and sends on confirmation; cancel sends nothing', async () => {
    const staff = new EngineChat(dialog, database, 'staff-1');
    await staff.text('你好');
    await staff.choose('简体中文');
    await staff.choose(zh.onboarding.agree);
    await staff.choose(zh.onboarding.bindSkip);
    const code = town.staffCodes.gridWorker;
    await staff.text(`/staff ${code}`);
    await staff.choose(zh.dialog.section_manage);
    await staff.choose(t.menuCompose);
    expect(await staff.freshText()).toContain(t.pickScope({ area: '第一网格' }));
    await staff.choose(t.scopeAll({ area: '第一网格' }));
    await staff.choose(t.areasDone);
    await staff.choose(t.category_general);
    await staff.choose(t.everyone);
    await staff.text('x'.repeat(61));
    expect(await staff.freshText()).toContain(t.tooLong({ max: 60 }));
    await staff.text('电梯维修');
    await staff.text('明天 1 号电梯维修，请走楼梯。');
    await staff.choose(t.later);
    await staff.text('昨天');
    expect(await staff.freshText()).toContain(t.badTime({ example: '' }).slice(0, 8));
    await staff.text('2099-01-01 09:00');
    const preview = await staff.freshText();
    expect(preview).toContain('发送时间：2099-01-01 09:00');
    await staff.choose(t.cancel);
    expect(await staff.freshText()).toContain(t.cancelled);
    expect(await database.db.select().from(notices).where(and(eq(notices.title, '电梯维修')))).toHaveLength(0);
  });
  it('sends to two buildings picked one after the other: each of their residents once, not the building beside them; a pick outside the area is refused and the flow goes on', async () => {
    // A town of its own, so the counts are this test's people only; 5号楼 stands beside 3号楼 in 第一网格.
    const own = await createSmallTown(database, 'MA');
    const beside = await database.db.transaction(async (tx) => {
      const b = await insertOrgUnit(tx, { kind: 'building', parentId: own.grid.id, code: 'MA-MZ-01-G1-B5', name: '5号楼' });
      const u = await insertOrgUnit(tx, { kind: 'unit', parentId: b.id, code: 'MA-MZ-01-G1-B5-U1', name: '1单元' });
      return insertOrgUnit(tx, { kind: 'household', parentId: u.id, code: 'MA-MZ-01-G1-B5-U1-101', name: '101' });
    });
    const inThree = await resident(database, own.households[0]!.id, { channels: ['web', 'telegram'] });
    const alsoThree = await resident(database, own.households[1]!.id);
    const inSeven = await resident(database, own.otherHousehold.id);
    const inFive = await resident(database, beside.id);

    const staff = new EngineChat(dialog, database, 'staff-areas');
    await staff.text('你好');
    await staff.choose('简体中文');
    await staff.choose(zh.onboarding.agree);
    await staff.choose(zh.onboarding.bindSkip);
    await staff.text(`/staff ${own.staffCodes.secretary}`);
    await staff.choose(zh.dialog.section_manage);
    await staff.choose(t.menuCompose);
    await staff.choose('第一网格 ›');
    await staff.choose('3号楼 ›');
    await staff.fresh();
    await staff.choose(t.scopeAll({ area: '3号楼' }));
    expect(await staff.freshText()).toContain(t.areasPicked({ areas: '3号楼' }));
    await staff.choose(t.addArea);
    expect(await staff.freshText()).toContain(t.pickScope({ area: '幸福社区' }));
    // A forged press for the other town's 3号楼: refused with the reason, still picking, 3号楼 kept.
    await staff.choice(`ns.pick.${town.building.id}`);
    const refused = await staff.fresh();
    expect(refused.map((r) => r.text)).toEqual([t.refused_outside_area({ area: '3号楼' }), t.pickScope({ area: '幸福社区' })]);
    await staff.choose('第二网格 ›');
    await staff.choose('7号楼 ›');
    await staff.choose(t.scopeAll({ area: '7号楼' }));
    expect(await staff.freshText()).toContain(t.areasPicked({ areas: '3号楼、7号楼' }));
    // 3号楼 again changes nothing: an area is counted once.
    await staff.choose(t.addArea);
    await staff.choose('第一网格 ›');
    await staff.choose('3号楼 ›');
    await staff.choose(t.scopeAll({ area: '3号楼' }));
    expect(await staff.freshText()).toContain(t.areasPicked({ areas: '3号楼、7号楼' }));
    await staff.choose(t.areasDone);
    await staff.choose(t.category_general);
    await staff.choose(t.everyone);
    await staff.text('停水通知');
    await staff.text('周三上午 3 号楼和 7 号楼停水，请提前储水。');
    await staff.choose(t.now);
    const preview = await staff.freshText();
    expect(preview).toContain('发送范围：3号楼、7号楼');
    // Three people (the one on two channels counted once), none of 5号楼.
    expect(preview).toContain('共 3 人，可送达 3 人（Telegram 1，微信 0，网页 3）');
    await staff.choose(t.confirmSend);
    expect(await staff.freshText()).toContain(t.sent({ reachable: 3 }));

    const [n] = await database.db.select().from(notices).where(eq(notices.title, '停水通知'));
    expect(n).toBeDefined();
    const rows = () => database.db.select().from(outbox).where(like(outbox.dedupeKey, `n:${n!.id}:0:%`));
    await waitFor(async () => (await database.db.select().from(notices).where(eq(notices.id, n!.id)))[0]!.status === 'sent', 'the notice marked sent', 15_000);
    const chats = (await rows()).map((r) => r.chatRef).sort();
    expect(chats).toEqual([inThree.refs.web!, inThree.refs.telegram!, alsoThree.refs.web!, inSeven.refs.web!].sort());
    expect(chats).not.toContain(inFive.refs.web!);
  });
});
