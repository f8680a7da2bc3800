import { and, eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutedTopics, noticeDeliveries, outbox } from '../../../db/schema/index.js';
import { audiencePages, previewAudience } from '../../../src/audience/audience.js';
import { addMembership } from '../../../src/audience/groups.js';
import { setMuted } from '../../../src/audience/preferences.js';
import { createLogger } from '../../../src/log.js';
import { confirmNotice, correctNotice, createNotice, NoticeError, recordRead, withdrawNotice, type NoticeDraft } from '../../../src/notices/commands.js';
import { fanOutNotice } from '../../../src/notices/fanout.js';
import { noticeCounts, unreadHouseholds } from '../../../src/notices/queries.js';
import type { QueuedMessage } from '../../../src/outbox/outbox.js';
import { assign, makePerson } from '../../support/case-fixture.js';
import { createTestDatabase } from '../../support/db.js';
import { resident } from '../../support/notice-fixture.js';
import { createSmallTown, type SmallTown } from '../../support/org-fixture.js';

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
const quiet = { hours: { startSec: 21 * 3600, endSec: 8 * 3600 }, timeZone: 'Asia/Shanghai' };
// 10:00 in Shanghai (02:00Z): outside quiet hours.
const DAY = new Date('2026-12-02T02:00:00Z');

describe('notice audience and fan-out (real PostgreSQL)', () => {
  let database: TestDb;
  let town: SmallTown;
  let secretary: string;
  let otherGridWorker: string;
  const r: Record<string, { personId: string }> = {};
  const enqueued: QueuedMessage[] = [];
  const delivery = { enqueue: async (m: QueuedMessage[]) => void enqueued.push(...m) };
  const deps = () => ({ database, delivery, logger: createLogger('silent'), pageSize: 1, quiet, now: () => DAY });

  beforeAll(async () => {
    database = await createTestDatabase();
    town = await createSmallTown(database);
    const [h0, h1, h2] = town.households;
    r.web = await resident(database, h0!.id);
    r.blocked = await resident(database, h0!.id, { blocked: true });
    r.both = await resident(database, h1!.id, { channels: ['web', 'telegram'], locale: 'ko' });
    r.muter = await resident(database, h1!.id);
    r.withdrawn = await resident(database, h2!.id, { consent: 'withdrawn' });
    r.noChat = await resident(database, h2!.id, { channels: [] });
    r.nextBuilding = await resident(database, town.otherHousehold.id);
    await database.db.transaction(async (tx) => {
      await setMuted(tx, r.muter!.personId, 'notice.activity', true);
      await addMembership(tx, 'elderly', { householdId: h1!.id }, { personId: r.both!.personId, source: 'self' });
    });
    secretary = await makePerson(database);
    await assign(database, secretary, 'community_secretary', town.community.id);
    otherGridWorker = await makePerson(database);
    await assign(database, otherGridWorker, 'grid_worker', town.otherGrid.id);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const draft = (over: Partial<NoticeDraft> = {}): NoticeDraft => ({ title: '停水通知', body: '明天 9:00–12:00 3号楼停水，请提前储水。', category: 'outage', scopeUnitIds: [town.building.id], ...over });

  it('previews how many people, by channel, and who cannot be reached and why', async () => {
    const spec = { scopeUnitIds: [town.building.id], topic: 'notice.activity' };
    expect(await previewAudience(database.db, spec)).toEqual({
      people: 6,
      reachable: 2,
      byChannel: { telegram: 1, wechat: 0, web: 2 },
      unreachable: { noChannel: 1, blocked: 1, consentWithdrawn: 1 },
      muted: 1,
    });
    // The same area for a topic nobody muted (or 应急): the muter is reachable again.
    expect((await previewAudience(database.db, { scopeUnitIds: [town.building.id] })).reachable).toBe(3);
  });

  it('reads the audience in household pages, leaving out the next building, blocked chats and withdrawn consent', async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of audiencePages(database.db, { scopeUnitIds: [town.building.id], topic: 'notice.outage' }, 1)) {
      pages++;
      expect(new Set(page.members.map((m) => m.householdId)).size).toBeLessThanOrEqual(1);
      seen.push(...page.members.map((m) => m.personId));
    }
    // Three households, one a page, and the empty page that says there are no more.
    expect(pages).toBe(4);
    expect(seen.sort()).toEqual([r.web!.personId, r.both!.personId, r.both!.personId, r.muter!.personId].sort());
    const elderly = [];
    for await (const page of audiencePages(database.db, { scopeUnitIds: [town.community.id], groups: ['elderly'] }, 10)) elderly.push(...page.members.map((m) => m.personId));
    expect(new Set(elderly)).toEqual(new Set([r.both!.personId, r.muter!.personId]));
  });

  it('refuses a grid worker writing to a building in another grid', async () => {
    await expect(database.db.transaction((tx) => createNotice(tx, otherGridWorker, draft(), DAY))).rejects.toMatchObject({ reason: 'outside_area' });
    await expect(database.db.transaction((tx) => createNotice(tx, otherGridWorker, draft({ scopeUnitIds: [town.otherGrid.id] }), DAY))).resolves.toBeDefined();
    await expect(database.db.transaction((tx) => createNotice(tx, secretary, draft({ scopeUnitIds: [town.households[0]!.id] }), DAY))).rejects.toBeInstanceOf(NoticeError);
  });

  it('fans a notice out once per chat, even when the job runs twice, and counts deliveries and reads', async () => {
    const notice = await database.db.transaction((tx) => createNotice(tx, secretary, draft(), DAY));
    const follow = await database.db.transaction((tx) => confirmNotice(tx, secretary, notice.id, DAY, quiet));
    expect(follow).toEqual({ kind: 'fan_out', noticeId: notice.id, wave: 0, priority: 'broadcast' });
    enqueued.length = 0;
    const first = await fanOutNotice(deps(), notice.id, 0);
    const again = await fanOutNotice(deps(), notice.id, 0);
    expect(first.written).toBe(4);
    expect(again.written).toBe(0);
    expect(enqueued).toHaveLength(4);
    const rows = await database.db.select().from(outbox).where(like(outbox.dedupeKey, `n:${notice.id}:0:%`));
    expect(rows).toHaveLength(4);
    expect(rows.every((row) => row.priority === 2 && row.notBefore === null)).toBe(true);
    // The Korean resident got it in Korean, with the 收到 button in Korean.
    const ko = rows.find((row) => (row.payload as { locale: string }).locale === 'ko')!;
    expect((ko.payload as { choices: { label: string }[] }).choices[0]!.label).toBe('수신');

    expect(await noticeCounts(database.db, notice.id)).toEqual({ recipients: 4, delivered: 0, pending: 4, failed: 0, read: 0 });
    await database.db.update(outbox).set({ status: 'sent' }).where(like(outbox.dedupeKey, `n:${notice.id}:0:%`));
    expect(await database.db.transaction((tx) => recordRead(tx, notice.id, r.web!.personId, 'button', DAY))).toBe(true);
    expect(await database.db.transaction((tx) => recordRead(tx, notice.id, r.web!.personId, 'reply', DAY))).toBe(true);
    expect(await database.db.transaction((tx) => recordRead(tx, notice.id, r.nextBuilding!.personId, 'button', DAY))).toBe(false);
    expect(await noticeCounts(database.db, notice.id)).toEqual({ recipients: 4, delivered: 4, pending: 0, failed: 0, read: 1 });

    // Households with someone bound and nobody who confirmed: 302 and 401, not 301.
    const unread = await unreadHouseholds(database.db, notice.id);
    expect(unread.total).toBe(2);
    expect(unread.households.map((h) => h.id)).toEqual([town.households[1]!.id, town.households[2]!.id]);
    expect(unread.households[0]!.label).toContain('3号楼');

    // A correction and a withdrawal reach exactly the chats that got it.
    await database.db.transaction((tx) => correctNotice(tx, secretary, notice.id, '停水时间改为 10:00–12:00。', DAY));
    expect((await fanOutNotice(deps(), notice.id, 1)).written).toBe(4);
    await database.db.transaction((tx) => withdrawNotice(tx, secretary, notice.id, '已恢复供水', DAY));
    expect((await fanOutNotice(deps(), notice.id, -1)).written).toBe(4);
    expect((await fanOutNotice(deps(), notice.id, -1)).written).toBe(0);
    const waves = await database.db.select().from(noticeDeliveries).where(eq(noticeDeliveries.noticeId, notice.id));
    expect(waves.filter((w) => w.wave === 1)).toHaveLength(4);
    expect(waves.filter((w) => w.wave === -1)).toHaveLength(4);
  });

  it('sends a notice written in several languages to each resident in theirs, its withdrawal too', async () => {
    const texts = { 'zh-CN': { title: '【协商结果】加装电梯', body: '按简单多数规则：获得通过。' }, ko: { title: '[협의 결과] 엘리베이터 설치', body: '단순 다수결 규칙: 통과되었습니다.' }, en: { title: '[Result] Installing a lift', body: 'Under simple majority: passed.' } };
    const notice = await database.db.transaction((tx) => createNotice(tx, secretary, draft({ ...texts['zh-CN'], texts, category: 'affairs' }), DAY));
    await database.db.transaction((tx) => confirmNotice(tx, secretary, notice.id, DAY, quiet));
    expect((await fanOutNotice(deps(), notice.id, 0)).written).toBe(4);
    const rows = await database.db.select().from(outbox).where(like(outbox.dedupeKey, `n:${notice.id}:0:%`));
    const textOf = (row: (typeof rows)[number]) => (row.payload as { text: string; locale: string });
    expect(rows.filter((row) => textOf(row).locale === 'ko').map((row) => textOf(row).text.includes('엘리베이터 설치') && textOf(row).text.includes('통과되었습니다'))).toEqual([true, true]);
    expect(rows.filter((row) => textOf(row).locale === 'zh-CN').every((row) => textOf(row).text.includes('按简单多数规则') && !textOf(row).text.includes('엘리베이터'))).toBe(true);
    await database.db.transaction((tx) => withdrawNotice(tx, secretary, notice.id, '误发', DAY));
    await fanOutNotice(deps(), notice.id, -1);
    const withdrawn = await database.db.select().from(outbox).where(like(outbox.dedupeKey, `n:${notice.id}:-1:%`));
    expect(withdrawn.filter((row) => textOf(row).locale === 'ko').every((row) => textOf(row).text.includes('엘리베이터 설치'))).toBe(true);
    // A language text that breaks the notice limits is refused like the main one.
    await expect(database.db.transaction((tx) => createNotice(tx, secretary, draft({ texts: { en: { title: 'x', body: 'too short a title' } } }), DAY))).rejects.toThrow();
  });

  it('holds a notice confirmed in quiet hours until they end, and sends 应急 at once to everyone ahead of other traffic', async () => {
    // 22:30 in Shanghai.
    const night = new Date('2026-12-01T14:30:00Z');
    const normal = await database.db.transaction((tx) => createNotice(tx, secretary, draft({ category: 'activity', title: '周末活动' }), night));
    await database.db.transaction((tx) => confirmNotice(tx, secretary, normal.id, night, quiet));
    await fanOutNotice({ ...deps(), now: () => night }, normal.id, 0);
    const held = await database.db.select().from(outbox).where(like(outbox.dedupeKey, `n:${normal.id}:0:%`));
    // The muter switched activities off.
    expect(held).toHaveLength(3);
    expect(held.every((row) => row.notBefore?.toISOString() === '2026-12-02T00:00:00.000Z')).toBe(true);

    const urgent = await database.db.transaction((tx) => createNotice(tx, secretary, draft({ category: 'emergency', title: '燃气泄漏' }), night));
    const follow = await database.db.transaction((tx) => confirmNotice(tx, secretary, urgent.id, night, quiet));
    expect(follow).toMatchObject({ priority: 'emergency' });
    await fanOutNotice({ ...deps(), now: () => night }, urgent.id, 0);
    const now = await database.db.select().from(outbox).where(like(outbox.dedupeKey, `n:${urgent.id}:0:%`));
    // The muter too: 应急 ignores preferences (and activities being off says nothing about it).
    expect(now).toHaveLength(4);
    expect(now.every((row) => row.priority === 0 && row.notBefore === null)).toBe(true);
    await expect(database.db.transaction((tx) => setMuted(tx, r.web!.personId, 'notice.emergency', true))).rejects.toThrow();
    expect(await database.db.select().from(mutedTopics).where(and(eq(mutedTopics.personId, r.web!.personId)))).toHaveLength(0);
  });
});
