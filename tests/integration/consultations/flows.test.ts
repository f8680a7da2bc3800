import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMER_HANDLERS } from '../../../jobs/registry.js';
import { auditLog, consultations, consultationScopes, consultationTopics, notices, timers } from '../../../db/schema/index.js';
import { verifyChain } from '../../../src/consultations/verify.js';
import { castBallot, ConsultationError, enterBallot } from '../../../src/consultations/commands.js';
import { refusalText } from '../../../src/consultations/explain.js';
import { createConsultationFlows } from '../../../src/consultations/flows.js';
import { closeConsultation, CONSULTATION_OPEN_TIMER, publishConsultation } from '../../../src/consultations/lifecycle.js';
import { formatLocal } from '../../../src/notices/rules.js';
import { findUnitByCode } from '../../../src/org/tree.js';
import { issueStaffCode, type StaffRole } from '../../../src/staff/codes.js';
import { fireDueTimers } from '../../../src/timers/fire.js';
import { setTimer } from '../../../src/timers/timers.js';
import { addMembership } from '../../../src/audience/groups.js';
import { loadConfig } from '../../../src/config.js';
import { createDialog, type Dialog } from '../../../src/dialog/engine.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { residentFlows } from '../../../src/residents/flows.js';
import { codeKey } from '../../../src/secrets.js';
import { recordingWork } from '../../support/consultation-fixture.js';
import { makePerson } from '../../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, TEST_REDIS_URL, uniqueQueuePrefix } from '../../support/db.js';
import { EngineChat } from '../../support/engine-chat.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

const zh = messages('zh-CN');
const t = zh.consultations;
const s = zh.consultationStaff;

describe('consultations in chat (dialog engine, real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let dialog: Dialog;
  let config: ReturnType<typeof loadConfig>;
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniqueQueuePrefix(), LOG_LEVEL: 'silent', NOTICE_QUIET_HOURS: '00:00-00:00' });
    const { work } = recordingWork(database);
    dialog = createDialog({ database, sink: work.sink, config, logger: createLogger('silent'), flows: [...residentFlows, ...createConsultationFlows()] });
  });
  afterAll(async () => {
    await database?.drop();
  });

  const onboard = async (bind: boolean) => {
    const chat = new EngineChat(dialog, database, `cf-${++n}`);
    await chat.text('你好');
    await chat.choose('简体中文');
    await chat.choose(zh.onboarding.agree);
    if (bind) {
      await chat.choose(zh.onboarding.bindInvite);
      await chat.text(town.inviteCode);
    }
    await chat.fresh();
    return chat;
  };
  const last = async (chat: EngineChat) => (await chat.fresh()).map((r) => r.text).join('\n');
  const lastOne = async (chat: EngineChat) => (await chat.fresh()).at(-1)?.text;

  it('residents propose and support topics (once each), staff create a vote in the guided flow, residents vote, change, and check their receipt after publication', async () => {
    const alice = await onboard(true);
    const bob = await onboard(true);
    // 议题征集
    await alice.choose(zh.dialog.section_consultations);
    await alice.choose(t.menuTopics);
    await alice.choose(t.topicPropose);
    await alice.text('加装电梯');
    await alice.text('3号楼老人多，上下楼困难，建议加装电梯。');
    expect(await last(alice)).toContain(t.topicProposed({ title: '加装电梯' }));
    await bob.choose(zh.dialog.section_consultations);
    await bob.choose(t.menuTopics);
    await bob.choose('加装电梯');
    await bob.choose(t.topicSupport);
    expect(await last(bob)).toContain(t.topicSupported);
    await bob.choose(t.topicSupport);
    expect(await last(bob)).toContain(t.topicAlreadySupported);
    await bob.choose(t.topicComment);
    await bob.text('支持，费用要公开透明。');
    expect(await last(bob)).toContain('💬 支持，费用要公开透明。');
    const [topic] = await database.db.select().from(consultationTopics);
    expect(topic).toMatchObject({ supports: 1, status: 'open' });

    // 发起协商 by the community secretary, in chat.
    const staff = await onboard(false);
    await staff.text(`/staff ${town.staffCodes.secretary}`);
    await staff.choose(zh.dialog.section_manage);
    await staff.choose(t.menuCreate);
    // The scope: the secretary's whole community (or grids / buildings in it).
    expect(await lastOne(staff)).toBe(zh.consultationStaff.pickScope({ area: '幸福社区' }));
    await staff.choose(zh.consultationStaff.scopeAll({ area: '幸福社区' }));
    await staff.choose(zh.consultationStaff.areasDone);
    expect(await last(staff)).toContain(t.createFromTopic);
    await staff.choose('加装电梯');
    await staff.text('同意\n不同意\n弃权');
    await staff.choose(t.single);
    await staff.choose(t.basis_households);
    await staff.choose(t.rule_simple_majority);
    await staff.choose(zh.consultationStaff.opensNow);
    await staff.text('3');
    await staff.choose(t.secretBallot);
    await staff.choose(t.changeableYes);
    expect(await last(staff)).toContain('选项：\n1. 同意\n2. 不同意\n3. 弃权');
    await staff.choose(t.createOpen);
    expect(await last(staff)).toContain('协商「加装电梯」已开始投票');
    const [c] = await database.db.select().from(consultations);
    expect(c).toMatchObject({ status: 'open', basis: 'households', secret: true });

    // Alice votes; Bob (same household) changes the household's ballot.
    await alice.choose(zh.dialog.section_consultations);
    await alice.choose(t.menuVote);
    expect(await last(alice)).toContain(t.pickOne);
    await alice.choose('同意');
    expect(await last(alice)).toContain(t.confirmAsk({ choices: '同意' }));
    await alice.choose(t.confirm);
    const cast = await last(alice);
    const firstReceipt = /回执号：([0-9a-f]{12})/.exec(cast)![1]!;
    await bob.text('投票');
    expect(await last(bob)).toContain(`您（户）当前的投票：同意\n方式：线上　回执号：${firstReceipt}`);
    await bob.choose(t.changeBallot);
    await bob.choose('不同意');
    await bob.choose(t.confirm);
    const changed = /新回执号：([0-9a-f]{12})/.exec(await last(bob))![1]!;

    // 管理协商 while it runs: turnout by building, no count per option, no early close (not allowed for this vote).
    const m = zh.consultationStaff;
    await staff.choose(zh.dialog.section_manage);
    await staff.choose(m.menuManage);
    await staff.choose(m.item({ status: m.status_open, title: '加装电梯' }));
    const running = await staff.fresh();
    expect(running.at(-1)!.text).toContain(`${m.totalHomes({ voters: 2, homes: 1, eligibleHomes: 4 })}\n`);
    expect(running.at(-1)!.text).toContain(m.hiddenWhileOpen);
    expect(running.at(-1)!.text).not.toMatch(/同意|弃权/);
    // No early close for this vote; the clerk may enter paper ballots (a household vote).
    expect((running.at(-1)!.choices ?? []).map((c) => c.label)).toEqual([zh.consultationPaper.enter]);

    // A paper ballot for the other household of the building; an owner-only vote would refuse Alice.
    await database.db.transaction((tx) => enterBallot(tx, codeKey(config), null, c!.id, town.households[1]!.id, [0], new Date()));

    // Closing time comes (the timer's path, no actor), then the secretary publishes.
    await database.db.execute(sql`update consultations set closes_at = now() - interval '1 second' where id = ${c!.id}`);
    const { work } = recordingWork(database);
    await work.run((uow) => closeConsultation(uow, c!.id, new Date()));
    // The secretary publishes in chat: the result as it stands, a confirmation, then frozen.
    await staff.fresh();
    await staff.choose(zh.dialog.section_manage);
    await staff.choose(m.menuManage);
    await staff.choose(m.item({ status: m.status_closed, title: '加装电梯' }));
    expect(await last(staff)).toContain('参与 2/4（50.0%）');
    await staff.choose(m.publish);
    expect(await last(staff)).toContain('确认公布吗？');
    await staff.choose(m.publishYes);
    expect(await last(staff)).toBe(m.published);
    expect((await database.db.select().from(consultations))[0]).toMatchObject({ status: 'published' });
    expect((await database.db.select().from(consultationTopics))[0]).toMatchObject({ status: 'adopted' });

    await alice.choose(zh.dialog.section_consultations);
    await alice.choose(t.menuVote);
    expect(await last(alice)).toContain('按简单多数规则：参与 2/4（50.0%）；「同意」1 票、「不同意」1 票、「弃权」0 票，票数相同，未获通过。');
    await alice.text(`回执 ${changed}`);
    expect(await last(alice)).toBe(`加装电梯: ${t.receiptFound({ choices: '不同意', counted: t.receiptCounted })}`);
    await alice.text(`回执 ${firstReceipt}`);
    expect(await last(alice)).toBe(`加装电梯: ${t.receiptFound({ choices: '同意', counted: t.receiptReplaced })}`);
    expect(await verifyChain(database.db, c!.id)).toEqual({ ok: true, rows: 3, unlinked: 0 });
  }, 120_000);

  it('tells a resident who is not an owner why they may not vote in an owners’ vote, and asks adults their age once', async () => {
    const carol = await onboard(true);
    const staff = (await database.db.execute(sql`select person_id from staff_assignments limit 1`)) as unknown as { person_id: string }[];
    const { work } = recordingWork(database);
    const { createConsultation } = await import('../../../src/consultations/commands.js');
    const { openConsultation } = await import('../../../src/consultations/lifecycle.js');
    const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };
    await database.db.transaction((tx) => addMembership(tx, 'owners', { householdId: town.households[2]!.id }, { personId: staff[0]!.person_id, source: 'staff' }));
    for (const basis of ['owners', 'adults'] as const) {
      await work.run(async (uow) => {
        const c = await createConsultation(uow.tx, staff[0]!.person_id, { title: `${basis}票`, background: '测试背景', options: ['同意', '不同意'], scopeUnitIds: [town.building.id], basis, closesAt: new Date(Date.now() + 86400_000) }, new Date());
        await openConsultation(uow, staff[0]!.person_id, c.id, new Date(), { quiet, locale: 'zh-CN' });
      });
    }
    await carol.choose(zh.dialog.section_consultations);
    await carol.choose(t.menuVote);
    await carol.choose('owners票');
    expect(await last(carol)).toContain(t.ineligible_not_owner);
    await carol.choose(zh.dialog.section_consultations);
    await carol.choose(t.menuVote);
    await carol.choose('adults票');
    expect(await last(carol)).toContain(t.askAdult);
    await carol.choose(t.yes);
    expect(await last(carol)).toContain(t.pickOne);
    await carol.text('菜单');
    await carol.fresh();
    await carol.choose(zh.dialog.section_consultations);
    await carol.choose(t.menuVote);
    await carol.choose('adults票');
    expect(await last(carol)).not.toContain(t.askAdult);
  }, 60_000);

  it('staff close a vote early in chat only where it allows it, with a reason, and only in their own area', async () => {
    const m = zh.consultationStaff;
    const street = await onboard(false);
    await street.text(`/staff ${town.staffCodes.street}`);
    const streetId = (await street.personId())!;
    const { work } = recordingWork(database);
    const { createConsultation } = await import('../../../src/consultations/commands.js');
    const { openConsultation } = await import('../../../src/consultations/lifecycle.js');
    const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };
    const open = (title: string, earlyClose: boolean) =>
      work.run(async (uow) => {
        const c = await createConsultation(uow.tx, streetId, { title, background: '测试背景', options: ['同意', '不同意'], scopeUnitIds: [town.community.id], basis: 'households', earlyClose, closesAt: new Date(Date.now() + 86400_000) }, new Date());
        return openConsultation(uow, streetId, c.id, new Date(), { quiet, locale: 'zh-CN' });
      });
    const early = await open('可提前结束', true);
    const fixed = await open('不可提前结束', false);
    await street.fresh();
    await street.choose(zh.dialog.section_manage);
    await street.choose(m.menuManage);
    await street.choose(m.item({ status: m.status_open, title: '不可提前结束' }));
    expect((await street.fresh()).at(-1)!.choices?.map((c) => c.label)).not.toContain(m.closeEarly);
    // A press kept from elsewhere changes nothing where the vote does not allow it.
    await street.send({ kind: 'choice', choice: `ke:${fixed.id}` });
    expect(await lastOne(street)).toBe(t.earlyCloseNotAllowed);
    await street.choose(zh.dialog.section_manage);
    await street.choose(m.menuManage);
    await street.choose(m.item({ status: m.status_open, title: '可提前结束' }));
    await street.choose(m.closeEarly);
    expect(await lastOne(street)).toBe(m.askReason);
    await street.text('好');
    expect(await lastOne(street)).toBe(m.badReason);
    await street.text('全部住户已投票，提前结束');
    expect(await last(street)).toContain(m.closed({ result: '' }).trim());
    const rows = await database.db.execute(sql`select id, status, close_reason from consultations where id in (${early.id}, ${fixed.id}) order by id = ${early.id} desc`);
    expect(rows.map((r) => [r.status, r.close_reason])).toEqual([['closed', '全部住户已投票，提前结束'], ['open', null]]);
    const audits = await database.db.execute(sql`select action from audit_log where subject_id = ${early.id} and actor_id = ${streetId} order by id`);
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['consultation.view_turnout', 'consultation.close_early']));
    // A grid worker does not reach the community's vote: not listed, and a forged press is refused.
    const grid = await onboard(false);
    await grid.text(`/staff ${town.staffCodes.gridWorker}`);
    await grid.fresh();
    await grid.send({ kind: 'choice', choice: `km:${fixed.id}` });
    expect(await lastOne(grid)).toBe(t.outsideArea);
    await grid.choose(zh.dialog.section_manage);
    await grid.choose(m.menuManage);
    expect(await last(grid)).not.toContain('不可提前结束');
  }, 60_000);

  /** A staff member bound in chat with a fresh code for `role` over `unitId`. */
  const staffChat = async (role: StaffRole, unitId: number) => {
    const { code } = await database.db.transaction((tx) => issueStaffCode(tx, { role, orgUnitId: unitId, ttlDays: 1, key: TEST_CODE_SECRET }));
    const chat = await onboard(false);
    await chat.text(`/staff ${code}`);
    await chat.fresh();
    return chat;
  };
  /** 发起协商 from the menu: the scope picks, then a blank draft titled `title`, up to "when does voting start?". */
  const draftVote = async (staff: EngineChat, pick: () => Promise<void>, title: string) => {
    await staff.choose(zh.dialog.section_manage);
    await staff.choose(t.menuCreate);
    await pick();
    await staff.choose(s.areasDone);
    if ((await last(staff)).includes(t.createFromTopic)) await staff.choose(t.createBlank);
    await staff.text(title);
    await staff.text('测试背景说明');
    await staff.text('同意、不同意');
    await staff.choose(t.single);
    await staff.choose(t.basis_households);
    await staff.choose(t.rule_simple_majority);
    expect(await lastOne(staff)).toBe(s.askOpens);
  };
  const finish = async (staff: EngineChat) => {
    await staff.text('3');
    await staff.choose(t.secretBallot);
    await staff.choose(t.changeableYes);
    return lastOne(staff);
  };
  const byTitle = async (title: string) => (await database.db.select().from(consultations).where(eq(consultations.title, title)))[0]!;

  it('staff schedule a vote in chat for a set time: it stays a draft until its timer opens it, once, announced then', async () => {
    const tz = config.notices.timeZone;
    const staff = await staffChat('community_secretary', town.community.id);
    const staffId = (await staff.personId())!;
    await draftVote(staff, async () => void (await staff.choose(s.scopeAll({ area: '幸福社区' }))), '更换路灯');
    await staff.choose(s.opensLater);
    await staff.text('明天早上');
    expect(await lastOne(staff)).toMatch(/^没看懂这个时间/);
    // Two days ahead, on the minute (what staff type is minutes).
    const at = new Date(Math.ceil((Date.now() + 2 * 86_400_000) / 60_000) * 60_000);
    await staff.text(formatLocal(at, tz));
    expect(await lastOne(staff)).toBe(t.createAskDays);
    const summary = await finish(staff);
    expect(summary).toContain(s.summaryOpens({ time: formatLocal(at, tz) }));
    // Three days from the opening, not from now.
    expect(summary).toContain(`截止：${formatLocal(new Date(at.getTime() + 3 * 86_400_000), tz)}`);
    await staff.choose(s.createSchedule);
    const draft = await byTitle('更换路灯');
    expect(await lastOne(staff)).toBe(s.scheduled({ title: '更换路灯', time: formatLocal(at, tz), id: draft.id }));
    expect(draft).toMatchObject({ status: 'draft', opensAt: at, closesAt: new Date(at.getTime() + 3 * 86_400_000), noticeId: null, openedAt: null });
    const [timer] = await database.db.select().from(timers).where(and(eq(timers.kind, CONSULTATION_OPEN_TIMER), eq(timers.subjectId, draft.id)));
    expect(timer).toMatchObject({ dueAt: at, seq: 1, data: { by: staffId } });
    // 管理协商 lists it with its opening time (a draft without one is not listed).
    const m = zh.consultationStaff;
    const scheduledLabel = m.item({ status: m.status_scheduled({ opens: formatLocal(at, tz) }), title: '更换路灯' });
    await staff.choose(zh.dialog.section_manage);
    await staff.choose(m.menuManage);
    expect((await staff.fresh()).at(-1)!.choices!.map((c) => c.label)).toContain(scheduledLabel);
    await staff.choose(scheduledLabel);
    expect((await staff.fresh()).at(-1)!.text).toContain(`【更换路灯】${m.status_scheduled({ opens: formatLocal(at, tz) })}`);

    // Its time comes (injected): the one timer facility fires it and it opens, announced.
    const { work } = recordingWork(database);
    const handlers = new Map(TIMER_HANDLERS.map((make) => make({ config } as never)).map((h) => [h.kind, h]));
    const fire = () => fireDueTimers({ work, handlers, logger: createLogger('silent') }, { kind: CONSULTATION_OPEN_TIMER, now: new Date(at.getTime() + 1000) });
    expect((await fire()).fired).toBe(1);
    const opened = await byTitle('更换路灯');
    expect(opened).toMatchObject({ status: 'open', eligible: { households: 4 } });
    expect(opened.noticeId).not.toBeNull();
    const announced = () => database.db.select().from(notices).where(eq(notices.title, t.announceTitle({ title: '更换路灯' })));
    expect(await announced()).toMatchObject([{ id: opened.noticeId, status: 'sending', category: 'affairs' }]);
    expect(await lastOne(staff)).toBe(s.openedOnTime({ title: '更换路灯' }));
    // The same timer again (a second wake-up of it, a row written twice): nothing happens twice.
    await database.db.transaction((tx) => setTimer(tx, { kind: CONSULTATION_OPEN_TIMER, subjectId: draft.id, seq: 1, dueAt: at, data: { by: staffId } }));
    expect((await fire()).fired).toBe(1);
    expect(await announced()).toHaveLength(1);
    expect((await byTitle('更换路灯')).openedAt).toEqual(opened.openedAt);
    const opens = await database.db.select().from(auditLog).where(and(eq(auditLog.subjectId, draft.id), eq(auditLog.action, 'consultation.open')));
    expect(opens).toHaveLength(1);
    expect(await staff.fresh()).toEqual([]);
  }, 60_000);

  it('staff pick the scope in chat — a grid, or two buildings — and who votes follows it; a resident outside is told why', async () => {
    const secretary = await staffChat('community_secretary', town.community.id);
    await draftVote(
      secretary,
      async () => {
        await secretary.choose('第二网格 ›');
        await secretary.choose(s.scopeAll({ area: '第二网格' }));
      },
      '第二网格停车',
    );
    await secretary.choose(s.opensNow);
    expect(await finish(secretary)).toContain('范围：第二网格');
    await secretary.choose(t.createOpen);
    expect(await lastOne(secretary)).toContain('已开始投票');
    const grid = await byTitle('第二网格停车');
    expect(await database.db.select({ id: consultationScopes.orgUnitId }).from(consultationScopes).where(eq(consultationScopes.consultationId, grid.id))).toEqual([{ id: town.otherGrid.id }]);
    expect(grid.eligible).toMatchObject({ households: 1 });
    // A resident of the first grid is outside it, and told so; one of the second grid votes.
    const outside = await makePerson(database, { householdId: town.households[0]!.id });
    const err = await castBallot(database.db, codeKey(config), grid.id, outside, [0], new Date()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConsultationError);
    expect(refusalText(zh, err as ConsultationError)).toBe(t.ineligible_outside_scope);
    const inside = await makePerson(database, { householdId: town.otherHousehold.id });
    expect((await castBallot(database.db, codeKey(config), grid.id, inside, [0], new Date())).stored).toBe(true);

    // Two buildings, one in each grid: each picked inside its grid, the second after 再加一个区域.
    const b7 = (await findUnitByCode(database.db, 'T-MZ-01-G2-B7'))!;
    await draftVote(
      secretary,
      async () => {
        await secretary.choose('第一网格 ›');
        await secretary.choose('3号楼 ›');
        await secretary.choose(s.scopeAll({ area: '3号楼' }));
        expect(await lastOne(secretary)).toBe(s.areasPicked({ areas: '3号楼' }));
        await secretary.choose(s.addArea);
        await secretary.choose('第二网格 ›');
        await secretary.choose('7号楼 ›');
        await secretary.choose(s.scopeAll({ area: '7号楼' }));
      },
      '两栋楼的电梯',
    );
    await secretary.choose(s.opensNow);
    expect(await finish(secretary)).toContain('范围：3号楼、7号楼');
    await secretary.choose(t.createOpen);
    const two = await byTitle('两栋楼的电梯');
    const scopes = await database.db.select({ id: consultationScopes.orgUnitId }).from(consultationScopes).where(eq(consultationScopes.consultationId, two.id));
    expect(scopes.map((r) => r.id).sort()).toEqual([town.building.id, b7.id].sort());
    expect(two.eligible).toMatchObject({ households: 4 });
    expect((await castBallot(database.db, codeKey(config), two.id, outside, [0], new Date())).stored).toBe(true);
    expect((await castBallot(database.db, codeKey(config), two.id, inside, [1], new Date())).stored).toBe(true);
  }, 60_000);

  it('offers a grid worker only their grid, and refuses a pick outside it with the reason while picking goes on', async () => {
    const worker = await staffChat('grid_worker', town.grid.id);
    await worker.choose(zh.dialog.section_manage);
    await worker.choose(t.menuCreate);
    const offer = (await worker.fresh()).at(-1)!;
    expect(offer.text).toBe(s.pickScope({ area: '第一网格' }));
    expect(offer.choices!.map((c) => c.label)).toEqual([s.scopeAll({ area: '第一网格' }), '3号楼 ›']);
    // Presses made up for the community and the other grid (role × area says no).
    await worker.choice(`ns.pick.${town.community.id}`);
    const refused = await worker.fresh();
    expect(refused.map((r) => r.text)).toEqual([s.refusedOutsideArea({ area: '幸福社区' }), s.pickScope({ area: '第一网格' })]);
    await worker.choice(`ns.into.${town.otherGrid.id}`);
    expect((await worker.fresh())[0]!.text).toBe(s.refusedOutsideArea({ area: '第二网格' }));
    // Their own grid is theirs to pick.
    await worker.choose(s.scopeAll({ area: '第一网格' }));
    expect(await lastOne(worker)).toBe(s.areasPicked({ areas: '第一网格' }));
  }, 60_000);
});
