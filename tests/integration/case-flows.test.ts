import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseCategories, caseFollowers, casePhotos, cases } from '../../db/schema/index.js';
import { createCaseFlows } from '../../src/cases/flows.js';
import { loadConfig } from '../../src/config.js';
import { createDialog, type Dialog } from '../../src/dialog/engine.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { createFolderStore } from '../../src/photos/store.js';
import { residentFlows } from '../../src/residents/flows.js';
import { issueStaffCode } from '../../src/staff/codes.js';
import { startCaseJobs } from '../support/case-fixture.js';
import { createTestDatabase, TEST_CODE_SECRET } from '../support/db.js';
import { EngineChat } from '../support/engine-chat.js';
import { CAMERA_MODEL, jpegWithExif } from '../support/images.js';
import { createSmallTown, type SmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');
const logger = createLogger('silent');

describe('reporting and handling a case in chat (dialog engine + real jobs on Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let town: SmallTown;
  let dialog: Dialog;
  let jobs: Awaited<ReturnType<typeof startCaseJobs>>;
  let dataDir: string;
  const platformFiles = new Map<string, Buffer>();
  let n = 0;
  const chat = () => new EngineChat(dialog, database, `case-${++n}`, 'web');

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    dataDir = mkdtempSync(path.join(tmpdir(), 'linli-caseflows-'));
    const settings = { deadlineScale: 1, autoCloseDays: 7 };
    jobs = await startCaseJobs(database, { kind: 'redis', settings, sweepEveryMs: 5000 });
    const scheduler = {};
    const sink = jobs.jobs.sink;
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const flows = createCaseFlows({
      scheduler,
      photos: createFolderStore(path.join(dataDir, 'photos')),
      settings: { ...settings, maxPhotos: 2 },
      // The channel's side of a photo: bytes the platform holds under a file id.
      fetchMedia: async (_channel, fileRef) => {
        const bytes = platformFiles.get(fileRef);
        if (!bytes) throw new Error('no such file');
        return { bytes, mimeType: 'image/jpeg' };
      },
    });
    dialog = createDialog({ database, sink, config, logger, flows: [...residentFlows, ...flows] });
  });
  afterAll(async () => {
    await jobs?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function onboard(c: EngineChat, invite = true) {
    await c.text('你好');
    await c.choose('简体中文');
    await c.choose(zh.onboarding.agree);
    if (invite) {
      await c.choose(zh.onboarding.bindInvite);
      await c.text(town.inviteCode);
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

  it('takes a report with a photo, routes it to the grid worker, who accepts and resolves; the resident rates it', async () => {
    const worker = chat();
    await onboard(worker, false);
    await worker.text(`/staff ${town.staffCodes.gridWorker}`);
    const menu = (await worker.fresh()).at(-1)!;
    expect(menu.choices!.map((c) => c.label)).toContain(zh.cases.menuWork);

    const resident = chat();
    await onboard(resident);
    await resident.choose(zh.cases.menuReport);
    expect(await resident.freshText()).toBe(zh.cases.pickCategory);
    await resident.text('乱说');
    expect(await resident.freshText()).toBe(zh.cases.pickCategory);
    await resident.choose('环境卫生');
    expect(await resident.freshText()).toBe(zh.cases.askDescription);
    await resident.text('脏');
    expect(await resident.freshText()).toBe(zh.cases.descriptionTooShort);
    await resident.text('3号楼2单元楼道堆满杂物，消防通道被堵');
    // The photo step says how to send one on this channel (the web chat's 📷 button).
    expect(await resident.freshText()).toBe(`${zh.cases.askPhotos({ max: 2 })}\n${zh.report.photoHow_web}`);

    platformFiles.set('f1', await jpegWithExif());
    await resident.send({ kind: 'photo', photo: { fileRef: 'f1' } });
    expect(await resident.freshText()).toBe(zh.cases.photoSaved({ n: 1, max: 2 }));
    // Each refused photo gets its reason, and the step stays open for another.
    platformFiles.set('f2', Buffer.from('%PDF-1.7 not a photo'));
    await resident.send({ kind: 'photo', photo: { fileRef: 'f2' } });
    expect(await resident.freshText()).toBe(zh.cases.photo_not_an_image);
    platformFiles.set('f3', (await jpegWithExif()).subarray(0, 300));
    await resident.send({ kind: 'photo', photo: { fileRef: 'f3' } });
    expect(await resident.freshText()).toBe(zh.cases.photo_broken);
    // A photo the channel could not hand over is "not received", not "wrong format".
    await resident.send({ kind: 'photo', photo: { fileRef: 'missing' } });
    expect(await resident.freshText()).toBe(zh.report.photoNotReceived);
    await resident.choose(zh.cases.done);
    expect(await resident.freshText()).toBe(zh.cases.askLocation);
    await resident.choose(zh.cases.atMyHome);
    await resident.choose(zh.cases.normal);
    const confirmText = await resident.freshText();
    expect(confirmText).toContain('照片：1 张');
    await resident.choose(zh.cases.submit);
    const submitted = await resident.freshText();
    const number = /T-\d{8}-\d{4}/.exec(submitted)![0];
    expect(submitted).toContain(zh.cases.submitted({ number }));

    // The photo was stored re-encoded without its Exif/GPS block, its thumbnail beside it.
    const [c] = await database.db.select().from(cases).where(eq(cases.number, number));
    const [photo] = await database.db.select().from(casePhotos).where(eq(casePhotos.caseId, c!.id));
    const stored = readFileSync(path.join(dataDir, 'photos', photo!.storageKey));
    expect(stored.includes(Buffer.from(CAMERA_MODEL))).toBe(false);
    expect(stored.includes(Buffer.from('Exif\0'))).toBe(false);
    expect(stored.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(photo!.thumbnailKey).toMatch(/^[a-f0-9]{64}\.jpg$/);
    expect(readFileSync(path.join(dataDir, 'photos', photo!.thumbnailKey!)).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    // Routing job: the worker gets a card, the resident is told.
    await waitText(worker, `新诉求 ${number}`);
    await waitText(resident, zh.cases.toldAssigned({ number }));
    await worker.choose(zh.cases.accept);
    expect(await worker.freshText()).toContain(`已接单 ${number}`);
    expect(await resident.freshText()).toContain(zh.cases.toldAccepted({ number }));
    await worker.choose(zh.cases.resolve);
    expect(await worker.freshText()).toBe(zh.cases.askResolveNote);
    await worker.text('已联系物业清理完毕');
    await worker.choose(zh.cases.skip);
    const afterResolve = await worker.fresh();
    expect(afterResolve.map((r) => r.text).join('\n')).toContain(zh.cases.resolvedStaff({ number }));
    // The worker has the menu back (their next case is one tap away).
    expect(afterResolve.at(-1)!.choices!.map((c) => c.label)).toContain(zh.cases.menuWork);

    expect(await resident.freshText()).toContain(zh.cases.toldResolved({ number, note: '已联系物业清理完毕' }));
    await resident.choose(zh.cases.rate_satisfied);
    expect(await resident.freshText()).toBe(zh.cases.askRatingComment);
    await resident.text('处理得很快，谢谢');
    expect(await resident.freshText()).toContain(zh.cases.ratingThanks);
    const [closed] = await database.db.select().from(cases).where(eq(cases.number, number));
    expect(closed).toMatchObject({ status: 'closed', rating: 'satisfied', ratingComment: '处理得很快，谢谢' });

    // 我的诉求 shows the timeline in plain language.
    await resident.choose(zh.cases.menuMine);
    await resident.choose(number);
    const timeline = await resident.freshText();
    // Plain words: who has it, the resident's own rating with their comment, 已办结（满意） rather than 已关闭.
    expect(timeline).toContain(`状态：已办结（满意）`);
    expect(timeline).toContain('已安排给第一网格网格员');
    expect(timeline).toContain(`${zh.cases.event_resolved}：已联系物业清理完毕`);
    expect(timeline).toContain('评价：满意 — 处理得很快，谢谢');
    expect(timeline).toContain('已办结（满意）');
    expect(timeline).not.toContain(zh.cases.event_commented);
    // The worker was told the rating and the comment.
    expect(await waitText(worker, `${number} 居民评价：满意 — 处理得很快，谢谢`)).toContain('居民评价：满意');

    // A second press of an old button changes nothing and says why.
    await worker.send({ kind: 'choice', choice: `ck:${c!.id}` });
    expect(await worker.freshText()).toContain(zh.cases.notAllowed({ status: zh.cases.status_closed }));
  });

  it('offers "same problem?" to a neighbour in the same building, who then follows the open case', async () => {
    const first = chat();
    await onboard(first);
    await first.choose(zh.cases.menuReport);
    await first.choose('公共设施维修');
    await first.text('单元门禁坏了，门关不上');
    await first.choose(zh.cases.skip);
    await first.choose(zh.cases.atMyHome);
    await first.choose(zh.cases.normal);
    await first.choose(zh.cases.submit);
    const number = /T-\d{8}-\d{4}/.exec(await first.freshText())![0];

    const second = chat();
    await onboard(second);
    await second.choose(zh.cases.menuReport);
    await second.choose('公共设施维修');
    await second.text('门禁又坏了');
    await second.choose(zh.cases.skip);
    await second.choose(zh.cases.atMyHome);
    await second.choose(zh.cases.normal);
    expect(await second.freshText()).toContain(`附近已有相同的问题正在办理：${number}`);
    await second.choose(zh.cases.sameYes);
    expect(await second.freshText()).toContain(zh.cases.followed({ number }));
    const [c] = await database.db.select().from(cases).where(eq(cases.number, number));
    const followers = await database.db.select().from(caseFollowers).where(eq(caseFollowers.caseId, c!.id));
    expect(followers).toHaveLength(2);
    const total = await database.db.select().from(cases).where(eq(cases.description, '门禁又坏了'));
    expect(total).toHaveLength(0);
  });

  it('logs a walk-in case at the desk (一窗受理); the resident follows it in chat with the code', async () => {
    const desk = chat();
    await onboard(desk, false);
    await desk.text(`/staff ${town.staffCodes.secretary}`);
    await desk.fresh();
    await desk.choose(zh.cases.menuDesk);
    expect(await desk.freshText()).toBe(zh.cases.askHousehold);
    await desk.text(town.otherHousehold.code);
    expect(await desk.freshText()).toBe(zh.cases.pickCategory);
    await desk.choose('助老助残');
    await desk.text('独居老人家里水管漏水，需要上门');
    await desk.choose(zh.cases.urgent);
    const logged = await desk.freshText();
    const number = /T-\d{8}-\d{4}/.exec(logged)![0];
    const code = /F-[2-9A-Z]{4}-[2-9A-Z]{4}/.exec(logged)![0];
    expect(logged).toContain(zh.cases.deskLogged({ number, code }));
    const [c] = await database.db.select().from(cases).where(eq(cases.number, number));
    expect(c).toMatchObject({ reporterId: null, firstUnitId: town.community.id, gridId: town.otherGrid.id, priority: 'urgent' });
    expect(c!.followCodeHash).not.toContain(code);

    const walkIn = chat();
    await onboard(walkIn, false);
    await walkIn.text('/follow F-2222-2222');
    expect(await walkIn.freshText()).toBe(zh.cases.followCodeInvalid);
    await walkIn.text(code.toLowerCase());
    expect(await walkIn.freshText()).toContain(zh.cases.followClaimed({ number }));
    const [claimed] = await database.db.select().from(cases).where(eq(cases.number, number));
    expect(claimed!.reporterId).toBe(await walkIn.personId());
    expect(claimed!.followCodeHash).toBeNull();
    // Used once: the same code does nothing for someone else.
    const other = chat();
    await onboard(other, false);
    await other.text(`/follow ${code}`);
    expect(await other.freshText()).toBe(zh.cases.followCodeInvalid);
  });

  it('refuses a household code that does not exist', async () => {
    const desk = chat();
    await onboard(desk, false);
    await desk.text(`/staff ${town.staffCodes.otherGridWorker}`);
    await desk.fresh();
    await desk.text('/desk');
    await desk.fresh();
    await desk.text('NO-SUCH-CODE');
    expect(await desk.freshText()).toBe(zh.cases.householdUnknown);
  });

  it('routes a report made with a shared location to the nearest grid', async () => {
    const c = chat();
    await onboard(c);
    await c.choose(zh.cases.menuReport);
    await c.choose('其他');
    await c.text('小区东门外路面塌陷一个坑');
    await c.choose(zh.cases.skip);
    const ask = (await c.fresh()).at(-1)!;
    expect(ask.requestLocation).toBe(true);
    // Closer to the second grid's centre (43.73, 127.35) than the first's (43.72, 127.34).
    await c.send({ kind: 'location', location: { lat: 43.7298, lng: 127.3497 } });
    await c.choose(zh.cases.normal);
    expect(await c.freshText()).toContain(zh.cases.placePoint);
    await c.choose(zh.cases.submit);
    const number = /T-\d{8}-\d{4}/.exec(await c.freshText())![0];
    const [row] = await database.db.select().from(cases).where(eq(cases.number, number));
    expect(row).toMatchObject({ gridId: town.otherGrid.id, placeId: null, lat: '43.729800', lng: '127.349700' });
  });

  it('tells a resident without a household to bind one before reporting', async () => {
    const c = chat();
    await onboard(c, false);
    await c.text('/report');
    const replies = await c.fresh();
    expect(replies[0]!.text).toBe(zh.cases.needHousehold);
    expect(replies.at(-1)!.choices!.map((x) => x.label)).toContain(zh.onboarding.bindInvite);
  });

  it('says so when the community has no categories, at the desk and in a report, and stores nothing', async () => {
    const before = (await database.db.select({ id: cases.id }).from(cases)).length;
    const active = await database.db.select({ id: caseCategories.id }).from(caseCategories).where(eq(caseCategories.active, true));
    await database.db.update(caseCategories).set({ active: false });
    try {
      const resident = chat();
      await onboard(resident);
      await resident.text('/report');
      // Told, and back at the main menu.
      expect((await resident.freshText()).startsWith(zh.cases.noCategories)).toBe(true);
      // The flow ended: the next word is not read as a category.
      await resident.text('环境卫生');
      expect(await resident.freshText()).not.toBe(zh.cases.pickCategory);

      // A second secretary for the desk (staff codes are single-use; the first is taken above).
      const { code } = await database.db.transaction((tx) => issueStaffCode(tx, { role: 'community_secretary', orgUnitId: town.community.id, ttlDays: 1, key: TEST_CODE_SECRET }));
      const desk = chat();
      await onboard(desk, false);
      await desk.text(`/staff ${code}`);
      await desk.fresh();
      await desk.choose(zh.cases.menuDesk);
      expect(await desk.freshText()).toBe(zh.cases.askHousehold);
      await desk.text(town.otherHousehold.code);
      expect((await desk.freshText()).startsWith(zh.cases.noCategories)).toBe(true);
    } finally {
      await database.db.update(caseCategories).set({ active: true }).where(inArray(caseCategories.id, active.map((c) => c.id)));
    }
    expect((await database.db.select({ id: cases.id }).from(cases)).length).toBe(before);
  });
});
