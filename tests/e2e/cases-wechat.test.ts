import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities, inboundMessages } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { WechatEmulator, type WechatDriver } from '../support/wechat-driver.js';
import { caseLifecycle, escalationLadder, expectLadderRecorded, expectLifecycleRecorded } from './case-script.js';

const SCALE = 0.002;
const MAX_PHOTOS = 2;
/** WeChat replies are paced at 1/s per chat, so answers can queue up behind each other. */
const WAIT = 30_000;

describe('cases end to end through wechaty-puppet-mock', () => {
  let t: TestApp;
  let wx: WechatEmulator;
  const drivers: WechatDriver[] = [];
  const contact = (name: string) => {
    const d = wx.contact(name);
    drivers.push(d);
    return d;
  };
  // Different people: the grid worker is none of the leaders.
  let worker: WechatDriver;

  beforeAll(async () => {
    wx = new WechatEmulator('邻里');
    t = await startTestApp(
      {
        WECHATY_PUPPET: 'wechaty-puppet-mock',
        // Urgent: 30 min to accept and 30 min per level become 3.6 s; normal accept 2 h → 14.4 s.
        CASE_DEADLINE_SCALE: String(SCALE),
        CASE_SWEEP_EVERY_MS: '1000',
        CASE_MAX_PHOTOS: String(MAX_PHOTOS),
      },
      { queue: 'redis', wechatPuppet: wx.puppet },
    );
    await wx.loggedIn();
  });
  afterAll(async () => {
    for (const d of drivers) await d.close();
    await t?.stop();
    wx?.stop();
  });

  const personOf = async (d: WechatDriver) => {
    const [row] = await t.app.database.db
      .select()
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, 'wechat'), eq(channelIdentities.userRef, d.id)));
    expect(row).toBeDefined();
    return row!.personId;
  };

  it('carries a case from report (with a photo) to rating; a redelivered 确认提交 makes no second case', async () => {
    const resident = contact('居民甲');
    worker = contact('网格员');
    const { number, photos } = await caseLifecycle(resident, worker, t.town, { maxPhotos: MAX_PHOTOS, timeoutMs: WAIT });
    expect(photos).toBe(1);
    await expectLifecycleRecorded(t.app.database.db, number, { reporterId: await personOf(resident), workerId: await personOf(worker), photos });

    // Everything the resident sent, the twice-redelivered 确认提交 included, was recorded once.
    const ids = resident.sent.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    const rows = await t.app.database.db.select().from(inboundMessages).where(and(eq(inboundMessages.channel, 'wechat'), inArray(inboundMessages.messageRef, ids)));
    expect(rows).toHaveLength(ids.length);
  }, 180_000);

  it('climbs community → street → county on shortened deadlines until the county takes it over', async () => {
    const resident = contact('居民乙');
    const secretary = contact('社区书记');
    const street = contact('街道干部');
    const county = contact('县干部');
    const { number } = await escalationLadder(resident, secretary, street, county, t.town, { maxPhotos: MAX_PHOTOS, timeoutMs: WAIT, gridWorker: worker });
    await expectLadderRecorded(t.app.database.db, number, { countyId: await personOf(county), scale: SCALE });

    // WeChat has no buttons: the 督办 card offered its actions as numbered lines.
    const zh = messages('zh-CN').cases;
    const card = county.inbox.find((m) => m.text.includes(number) && m.text.includes(zh.reassign));
    expect(card?.text.split('\n').filter((line) => /^\d+\. /.test(line))).toEqual([`1. ${zh.takeOver}`, `2. ${zh.reassign}`, `3. ${zh.comment}`]);
  }, 180_000);
});
