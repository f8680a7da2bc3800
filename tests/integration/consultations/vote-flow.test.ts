import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ballots, consultationVoters } from '../../../db/schema/index.js';
import { createConsultation } from '../../../src/consultations/commands.js';
import { createConsultationFlows } from '../../../src/consultations/flows.js';
import { openConsultation } from '../../../src/consultations/lifecycle.js';
import { loadConfig } from '../../../src/config.js';
import { createDialog, type Dialog } from '../../../src/dialog/engine.js';
import { messages } from '../../../src/i18n/index.js';
import { createLogger } from '../../../src/log.js';
import { residentFlows } from '../../../src/residents/flows.js';
import { assign } from '../../support/case-fixture.js';
import { recordingWork } from '../../support/consultation-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET, uniqueQueuePrefix } from '../../support/db.js';
import { EngineChat } from '../../support/engine-chat.js';
import { resident } from '../../support/notice-fixture.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

const zh = messages('zh-CN');
const t = zh.consultations;
const quiet = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };

describe('投票 in chat: refusals a resident meets (dialog engine, real PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let dialog: Dialog;
  let secretary: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, QUEUE_PREFIX: uniqueQueuePrefix(), LOG_LEVEL: 'silent', NOTICE_QUIET_HOURS: '00:00-00:00' });
    dialog = createDialog({ database, sink: recordingWork(database).work.sink, config, logger: createLogger('silent'), flows: [...residentFlows, ...createConsultationFlows()] });
    secretary = (await resident(database, town.otherHousehold.id)).personId;
    await assign(database, secretary, 'community_secretary', town.community.id);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('a vote that cannot be changed: a household member confirming after the other voted is told so, and nothing is stored', async () => {
    const { work } = recordingWork(database);
    const id = await work.run(async (uow) => {
      const c = await createConsultation(uow.tx, secretary, { title: '楼道堆物清理', background: '是否统一清理楼道堆物', options: ['同意', '不同意'], scopeUnitIds: [town.building.id], basis: 'households', changeable: false, closesAt: new Date(Date.now() + 86400_000) }, new Date());
      return (await openConsultation(uow, secretary, c.id, new Date(), { quiet, locale: 'zh-CN' })).id;
    });
    const home = town.households[0]!.id;
    const [wife, husband] = [await resident(database, home), await resident(database, home)];
    const a = new EngineChat(dialog, database, wife.refs.web!);
    const b = new EngineChat(dialog, database, husband.refs.web!);
    // Both open the vote before either has voted; the husband gets as far as confirming.
    await b.text('投票');
    await b.choose('不同意');
    expect(await b.freshText()).toContain(t.confirmAsk({ choices: '不同意' }));
    await a.text('投票');
    await a.choose('同意');
    await a.choose(t.confirm);
    const receipt = /回执号：([0-9a-f]{12})/.exec(await a.freshText())![1]!;
    const voters = await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, id));
    await b.choose(t.confirm);
    expect(await b.freshText()).toBe(t.notChangeable);
    expect(await database.db.select().from(ballots).where(eq(ballots.consultationId, id))).toMatchObject([{ choices: [0], receipt }]);
    expect(await database.db.select().from(consultationVoters).where(eq(consultationVoters.consultationId, id))).toEqual(voters);
    // Opening the vote again shows the household's ballot and offers no change.
    await b.text('投票');
    const shown = await b.fresh();
    expect(shown.map((r) => r.text).join('\n')).toContain(`您（户）当前的投票：同意\n方式：线上　回执号：${receipt}`);
    expect(shown.flatMap((r) => r.choices ?? []).map((c) => c.label)).not.toContain(t.changeBallot);
  });
});
