import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, ballots, consultationProxies } from '../../../db/schema/index.js';
import { verifyChain } from '../../../src/consultations/verify.js';
import { castBallot, createConsultation } from '../../../src/consultations/commands.js';
import { createConsultationFlows } from '../../../src/consultations/flows.js';
import { openConsultation } from '../../../src/consultations/lifecycle.js';
import { PAPER } from '../../../src/consultations/buttons.js';
import { loadConfig } from '../../../src/config.js';
import { createDialog, type Dialog } from '../../../src/dialog/engine.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { residentFlows } from '../../../src/residents/flows.js';
import { codeKey } from '../../../src/secrets.js';
import { assign } from '../../support/case-fixture.js';
import { recordingWork } from '../../support/consultation-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, uniqueQueuePrefix } from '../../support/db.js';
import { EngineChat } from '../../support/engine-chat.js';
import { resident } from '../../support/notice-fixture.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

const zh = messages('zh-CN');
const p = zh.consultationPaper;
const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };

describe('录入纸质票/委托票 in chat (dialog engine, real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let dialog: Dialog;
  let config: ReturnType<typeof loadConfig>;
  let secretary: Awaited<ReturnType<typeof resident>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, QUEUE_PREFIX: uniqueQueuePrefix(), LOG_LEVEL: 'silent', NOTICE_QUIET_HOURS: '00:00-00:00' });
    dialog = createDialog({ database, sink: recordingWork(database).work.sink, config, logger: createLogger('silent'), flows: [...residentFlows, ...createConsultationFlows()] });
    secretary = await resident(database, town.otherHousehold.id);
    await assign(database, secretary.personId, 'community_secretary', town.community.id);
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function openVote(title: string, over: { multiple?: boolean; maxChoices?: number; secret?: boolean } = {}) {
    const { work } = recordingWork(database);
    return work.run(async (uow) => {
      const c = await createConsultation(uow.tx, secretary.personId, { title, background: '业主大会纸质表决', options: ['同意', '不同意', '弃权'], scopeUnitIds: [town.building.id], basis: 'households', closesAt: new Date(Date.now() + 86400_000), ...over }, new Date());
      return (await openConsultation(uow, secretary.personId, c.id, new Date(), { quiet, locale: 'zh-CN' })).id;
    });
  }

  it('enters a paper ballot from 管理协商: building, typed home, option, summary, receipt; audited without the secret choice', async () => {
    const id = await openVote('小区停车管理', { secret: true });
    const chat = new EngineChat(dialog, database, secretary.refs.web!);
    await chat.choice('menu.consultationManage');
    await chat.choose('小区停车管理');
    await chat.choose(p.enter);
    expect(await chat.freshText()).toContain(p.askBuilding);
    await chat.choose('3号楼');
    await chat.text('9-999');
    expect(await chat.freshText()).toContain(p.badRoom);
    await chat.text('2-302');
    expect(await chat.freshText()).toContain(p.askVia({ home: '3号楼 2单元 302' }));
    await chat.choose(p.viaPaper);
    await chat.choose('不同意');
    expect(await chat.freshText()).toContain('选择：不同意');
    await chat.choose(p.confirm);
    const done = await chat.freshText();
    const receipt = /回执号：([0-9a-f]{12})/.exec(done)?.[1];
    expect(done).toContain('已录入 3号楼 2单元 302 的票');
    const rows = await database.db.select().from(ballots).where(eq(ballots.consultationId, id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ via: 'paper', choices: [1], receipt });
    const [audit] = await database.db.select().from(auditLog).where(and(eq(auditLog.action, 'consultation.paper'), eq(auditLog.subjectId, id)));
    expect(audit!.actorId).toBe(secretary.personId);
    // Neither the secret choice nor the receipt (the published list pairs receipts with choices).
    expect(audit!.details).toEqual({ householdId: town.households[1]!.id });
    expect(await verifyChain(database.db, id)).toMatchObject({ ok: true });
  });

  it('records a proxy with its authorisation, takes several options up to the maximum, and refuses a household that already voted in chat', async () => {
    const id = await openVote('公共收益使用', { multiple: true, maxChoices: 2 });
    const voter = await resident(database, town.households[0]!.id);
    // One ballot per household across chat, paper and proxy: 301 voted in chat already.
    await database.db.transaction((tx) => castBallot(tx, codeKey(config), id, voter.personId, [0], new Date()));

    const chat = new EngineChat(dialog, database, secretary.refs.web!);
    await chat.choice(PAPER.start(id));
    await chat.choose('3号楼');
    await chat.text('401');
    await chat.choose(p.viaProxy);
    await chat.text('张大爷');
    await chat.text('张小华');
    await chat.text('委托书 2026-017，存居委会档案柜');
    expect(await chat.freshText()).toContain(p.pickUpTo({ max: 2 }));
    await chat.choose('同意');
    await chat.choose('不同意');
    await chat.choose('弃权'); // a third press at the maximum changes nothing
    await chat.choose(p.done);
    const summary = await chat.freshText();
    expect(summary).toContain('选择：同意、不同意');
    expect(summary).toContain('委托人：张大爷，受托人：张小华');
    await chat.choose(p.confirm);
    expect(await chat.freshText()).toContain('已录入 3号楼 2单元 401 的票');
    const [proxy] = await database.db.select().from(consultationProxies).where(eq(consultationProxies.consultationId, id));
    expect(proxy).toMatchObject({ householdId: town.households[2]!.id, grantor: '张大爷', proxy: '张小华', recordedBy: secretary.personId });
    expect((await database.db.select().from(ballots).where(and(eq(ballots.consultationId, id), eq(ballots.via, 'proxy'))))[0]).toMatchObject({ choices: [0, 1] });

    await chat.choice(PAPER.start(id));
    await chat.choose('3号楼');
    await chat.text('301');
    await chat.choose(p.viaPaper);
    await chat.choose('弃权');
    await chat.choose(p.done);
    await chat.choose(p.confirm);
    expect(await chat.freshText()).toContain(zh.consultations.alreadyVoted({ via: zh.consultations.viaChat }));
    expect(await database.db.select().from(ballots).where(and(eq(ballots.consultationId, id), eq(ballots.via, 'paper')))).toHaveLength(0);
  });

  it('is refused to a grid worker of another grid, and is not offered for a vote by person', async () => {
    const id = await openVote('楼道清洁');
    const other = await resident(database, town.otherHousehold.id);
    await assign(database, other.personId, 'grid_worker', town.otherGrid.id);
    const chat = new EngineChat(dialog, database, other.refs.web!);
    await chat.choice(PAPER.start(id));
    expect(await chat.freshText()).toContain(zh.consultations.outsideArea);
    expect(await database.db.select().from(ballots).where(eq(ballots.consultationId, id))).toHaveLength(0);

    const { work } = recordingWork(database);
    const adults = await work.run(async (uow) => {
      const c = await createConsultation(uow.tx, secretary.personId, { title: '按人投票', background: '测试', options: ['同意', '不同意'], scopeUnitIds: [town.building.id], basis: 'adults', closesAt: new Date(Date.now() + 86400_000) }, new Date());
      return (await openConsultation(uow, secretary.personId, c.id, new Date(), { quiet, locale: 'zh-CN' })).id;
    });
    const staff = new EngineChat(dialog, database, secretary.refs.web!);
    await staff.choice('menu.consultationManage');
    await staff.choose('按人投票');
    const shown = (await staff.fresh()).at(-1)!;
    expect((shown.choices ?? []).map((c) => c.label)).not.toContain(p.enter);
    await staff.choice(PAPER.start(adults));
    expect(await staff.freshText()).toContain(zh.consultations.paperNeedsHousehold);
  });
});
