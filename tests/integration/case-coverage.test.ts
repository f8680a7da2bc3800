import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases } from '../../db/schema/index.js';
import { uncoveredUnits } from '../../src/cases/coverage.js';
import { deadlinePassed } from '../../src/cases/escalation.js';
import { claimOnStaffBound, createCaseFlows } from '../../src/cases/flows.js';
import { runCaseTx } from '../../src/cases/run.js';
import { loadConfig } from '../../src/config.js';
import { createDialog, type Dialog } from '../../src/dialog/engine.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { createFolderStore } from '../../src/photos/store.js';
import { createResidentFlows } from '../../src/residents/flows.js';
import { fileClaim } from '../../src/residents/household.js';
import { startCaseJobs } from '../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../support/db.js';
import { EngineChat } from '../support/engine-chat.js';
import { jpegWithExif } from '../support/images.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
const logger = createLogger('silent');
const settings = { deadlineScale: 1, autoCloseDays: 7 };

describe('no case without someone who knows about it, and the worker sees what the resident sent', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let lonely: SmallTown;
  let dialog: Dialog;
  let jobs: Awaited<ReturnType<typeof startCaseJobs>>;
  let dataDir: string;
  const platformFiles = new Map<string, Buffer>();
  let gridWorker: EngineChat;
  let n = 0;
  const chat = () => new EngineChat(dialog, database, `cov-${++n}`, 'web');

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database, 'T');
    // A second town where only the street has someone bound.
    lonely = await createSmallTown(database, 'U');
    dataDir = mkdtempSync(path.join(tmpdir(), 'linli-coverage-'));
    jobs = await startCaseJobs(database, { kind: 'redis', settings, sweepEveryMs: 5000 });
    const config = loadConfig({ DATABASE_URL: database.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent', CODE_SECRET: TEST_CODE_SECRET });
    const flows = createCaseFlows({
      scheduler: {},
      photos: createFolderStore(path.join(dataDir, 'photos')),
      settings: { ...settings, maxPhotos: 2 },
      fetchMedia: async (_channel, fileRef) => {
        const bytes = platformFiles.get(fileRef);
        if (!bytes) throw new Error('no such file');
        return { bytes, mimeType: 'image/jpeg' };
      },
    });
    const residentFlows = createResidentFlows({ onStaffBound: claimOnStaffBound({ scheduler: {} }) });
    dialog = createDialog({ database, sink: jobs.jobs.sink, config, logger, flows: [...residentFlows, ...flows] });
  });
  afterAll(async () => {
    await jobs?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function onboard(c: EngineChat, invite?: string) {
    await c.text('你好');
    await c.choose('简体中文');
    await c.choose(zh.onboarding.agree);
    if (invite) {
      await c.choose(zh.onboarding.bindInvite);
      await c.text(invite);
    } else await c.choose(zh.onboarding.bindSkip);
    await c.fresh();
  }

  async function waitText(c: EngineChat, needle: string): Promise<string> {
    const end = Date.now() + 15_000;
    let seen = '';
    for (;;) {
      seen += (await c.freshText()) + '\n';
      if (seen.includes(needle)) return seen;
      if (Date.now() > end) throw new Error(`no "${needle}" in: ${seen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function waitRouted(number: string) {
    const end = Date.now() + 15_000;
    for (;;) {
      const [row] = await database.db.select().from(cases).where(eq(cases.number, number));
      if (row && row.status !== 'submitted') return row;
      if (Date.now() > end) throw new Error(`${number} not routed`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const numberIn = (text: string) => /[TU]-\d{8}-\d{4}/.exec(text)![0];

  it('reports before any staff binds: the resident hears the truth, and the worker who binds gets the card with the photo and place at once', async () => {
    const places = (await uncoveredUnits(database.db)).map((u) => u.place);
    expect(places).toEqual(expect.arrayContaining(['民主街道 · 幸福社区', '民主街道 · 幸福社区 · 第一网格', '民主街道 · 幸福社区 · 第二网格']));

    const resident = chat();
    await onboard(resident, town.inviteCode);
    // Typed at the main menu, not a command: offered as a report with that text as the description.
    await resident.text('我家楼上漏水了，天花板一直在滴水');
    expect(await resident.freshText()).toBe(zh.report.offerReport({ text: '我家楼上漏水了，天花板一直在滴水' }));
    await resident.choose(zh.report.offerYes);
    await resident.choose('公共设施维修');
    // The description was kept: straight on to photos.
    expect(await resident.freshText()).toContain(zh.cases.askPhotos({ max: 2 }));
    platformFiles.set('leak', await jpegWithExif());
    await resident.send({ kind: 'photo', photo: { fileRef: 'leak' } });
    await resident.choose(zh.cases.done);
    await resident.text('楼上 502 室');
    await resident.choose(zh.cases.normal);
    const confirm = (await resident.fresh()).at(-1)!;
    expect(confirm.text).toContain('地点：楼上 502 室');
    expect(confirm.choices!.map((c) => c.label)).toEqual([zh.cases.submit, zh.report.edit, zh.report.cancel]);
    await resident.choose(zh.cases.submit);
    const number = numberIn(await resident.freshText());

    await waitText(resident, zh.report.toldWaiting({ number }));
    const waiting = await waitRouted(number);
    expect(waiting).toMatchObject({ status: 'assigned', assigneeId: null, level: 'community', assigneeUnitId: town.community.id });
    const grid = (await uncoveredUnits(database.db)).find((u) => u.id === town.grid.id)!;
    expect(grid.waiting).toBe(1);

    // The worker's very first message is the staff code; no language, consent or household prompt.
    const worker = chat();
    gridWorker = worker;
    await worker.text(`/staff ${town.staffCodes.gridWorker}`);
    const replies = await worker.fresh();
    const said = replies.map((r) => r.text).join('\n');
    expect(said).toContain(zh.staff.bound({ role: zh.staff.role_grid_worker, area: '民主街道 · 幸福社区 · 第一网格' }));
    expect(said).toContain(zh.report.waitingForYou({ count: 1, numbers: number }));
    expect(said).not.toContain(zh.onboarding.privacyNotice);
    expect(said).not.toContain(zh.onboarding.bindInvite);
    const card = replies.find((r) => r.text.startsWith(`新诉求 ${number}`))!;
    expect(card.text).toContain('居民填写：楼上 502 室');
    expect(card.text).toContain(town.building.name);
    expect(card.media).toHaveLength(1);
    expect(card.choices!.map((c) => c.label)).toContain(zh.cases.accept);
    expect(replies.at(-1)!.choices!.map((c) => c.label)).toContain(zh.cases.menuWork);
    expect(await waitRouted(number)).toMatchObject({ assigneeId: await worker.personId(), level: 'grid' });
    await waitText(resident, zh.cases.toldAssigned({ number }));
    expect((await uncoveredUnits(database.db)).some((u) => u.id === town.grid.id)).toBe(false);

    // 我的待办 shows the same: place, photo, buttons.
    await worker.choose(zh.cases.menuWork);
    await worker.choose(number);
    const detail = (await worker.fresh()).at(-1)!;
    expect(detail.text).toContain('居民填写：楼上 502 室');
    expect(detail.media).toHaveLength(1);

    // Accept, resolve; 不满意 asks why (no dead end), and the case is back with the worker as 重办.
    await worker.choose(zh.cases.accept);
    await worker.choose(zh.cases.resolve);
    await worker.text('已请物业检修');
    await worker.choose(zh.cases.skip);
    await waitText(resident, zh.cases.toldResolved({ number, note: '已请物业检修' }));
    await worker.fresh();
    await resident.choose(zh.cases.rate_unsatisfied);
    const asked = await resident.fresh();
    expect(asked.at(-1)!.text).toBe(zh.timeline.askUnsatisfiedReason);
    expect(asked.map((r) => r.text).join('\n')).not.toContain(zh.dialog.notUnderstood);
    await resident.text('还在滴水');
    expect(await resident.freshText()).toContain(zh.cases.ratingThanks);
    const heard = await waitText(worker, `${number} 居民评价：不满意 — 还在滴水`);
    expect(heard).toContain(`重办 ${number}`);
    const reopenCard = (await worker.all()).reverse().find((r) => r.text.includes(`重办 ${number}`))!;
    expect(reopenCard.choices!.map((c) => c.label)).toContain(zh.cases.accept);
    expect(await waitRouted(number)).toMatchObject({ status: 'assigned', reopenCount: 1 });

    await resident.choose(zh.cases.menuMine);
    await resident.choose(number);
    const timeline = await resident.freshText();
    expect(timeline).toContain('正在安排工作人员（幸福社区）');
    expect(timeline).toContain('已安排给第一网格网格员');
    expect(timeline).toContain('评价：不满意 — 还在滴水');
    expect(timeline).not.toContain(zh.cases.event_commented);
  });

  it('escalates a case nobody at grid or community knows about to the street on its deadline', async () => {
    const street = chat();
    await street.text(`/staff ${lonely.staffCodes.street}`);
    expect(await street.freshText()).toContain('民主街道');
    const resident = chat();
    await onboard(resident, lonely.inviteCode);
    await resident.text('/report');
    await resident.choose('环境卫生');
    await resident.text('楼道里堆满了杂物');
    await resident.choose(zh.cases.skip);
    await resident.choose(zh.cases.atMyHome);
    await resident.choose(zh.cases.normal);
    expect(await resident.freshText()).toContain(`地点：${zh.cases.placeHome}`);
    await resident.choose(zh.cases.submit);
    const number = numberIn(await resident.freshText());
    const waiting = await waitRouted(number);
    expect(waiting).toMatchObject({ assigneeId: null, level: 'community' });
    await waitText(resident, zh.report.toldWaiting({ number }));

    const outcome = await runCaseTx(jobs.deps, (tx, fx) => deadlinePassed(tx, fx, waiting.id, waiting.deadlineSeq, settings, new Date(waiting.dueAt!.getTime() + 1000)));
    expect(outcome).toBe('escalated');
    expect(await waitRouted(number)).toMatchObject({ level: 'street' });
    await waitText(street, `督办（${zh.cases.level_street}）：${number}`);
  });

  it('offers 修改 and 取消 at the confirm step; cancelling stores nothing', async () => {
    const resident = chat();
    await onboard(resident, town.inviteCode);
    await resident.text('/report');
    await resident.choose('环境卫生');
    await resident.text('垃圾桶满了没人清');
    await resident.choose(zh.cases.skip);
    await resident.choose(zh.cases.atMyHome);
    await resident.choose(zh.cases.normal);
    await resident.choose(zh.report.edit);
    await resident.choose(zh.report.editPlace);
    await resident.text('小区东门');
    // Straight back to the summary with the changed place.
    const summary = (await resident.fresh()).at(-1)!;
    expect(summary.text).toContain('地点：小区东门');
    expect(summary.text).toContain('内容：垃圾桶满了没人清');
    await resident.choose(zh.report.cancel);
    expect(await resident.freshText()).toContain(zh.report.cancelled);
    expect(await database.db.select().from(cases).where(eq(cases.description, '垃圾桶满了没人清'))).toHaveLength(0);
  });

  it('lets a resident whose household claim is pending report, marked unverified on the card', async () => {
    const resident = chat();
    await onboard(resident);
    const personId = (await resident.personId())!;
    await database.db.transaction((tx) => fileClaim(tx, personId, town.households[1]!.id));
    await resident.text('/menu');
    expect((await resident.fresh()).at(-1)!.choices!.map((c) => c.label)).toContain(zh.cases.menuReport);
    await resident.choose(zh.cases.menuReport);
    await resident.choose('环境卫生');
    await resident.text('楼下草坪有人乱倒垃圾');
    await resident.choose(zh.cases.skip);
    await resident.choose(zh.cases.atMyHome);
    await resident.choose(zh.cases.normal);
    await resident.choose(zh.cases.submit);
    const number = numberIn(await resident.freshText());
    const routed = await waitRouted(number);
    expect(routed).toMatchObject({ householdVerified: false, placeId: town.households[1]!.id });
    const card = await waitText(gridWorker, `新诉求 ${number}`);
    expect(card).toContain(`${town.households[1]!.name}（${zh.report.unverified}）`);
  });
});
