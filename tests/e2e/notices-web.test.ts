import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { messages } from '../../src/i18n/index.js';
import { confirmNotice, createNotice } from '../../src/notices/commands.js';
import { assign, makePerson } from '../support/case-fixture.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { phonePhoto } from '../support/images.js';
import { launchChromium, WebChatDriver } from '../support/web-driver.js';
import { bindStaff, inviteFor, noticeStory, onboard, quietHoursEndingIn } from './notice-script.js';

const zh = messages('zh-CN');

describe('notices end to end in the web chat (headless Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  const quiet = quietHoursEndingIn(90);
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestApp({ NOTICE_QUIET_HOURS: quiet.env }, { queue: 'redis' }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('sends to exactly one building, holds 活动 (with its photo) through quiet hours, 应急 at once, counts 收到, and keeps a grid worker to their grid', async () => {
    const open = () => WebChatDriver.open(browser, t.app.url);
    const cast = { secretary: await open(), resident: await open(), neighbour: await open(), otherWorker: await open() };
    await Promise.all([
      bindStaff(cast.secretary, t.town.staffCodes.secretary, zh.staff.role_community_secretary, '民主街道 · 幸福社区', 15_000),
      onboard(cast.resident, t.town.inviteCode, 15_000),
      onboard(cast.neighbour, await inviteFor(t.app.database, t.town.otherHousehold.id), 15_000),
      bindStaff(cast.otherWorker, t.town.staffCodes.otherGridWorker, zh.staff.role_grid_worker, '民主街道 · 幸福社区 · 第二网格', 15_000),
    ]);
    await noticeStory(cast, t.town, {
      quietEndsAt: quiet.endsAt,
      timeoutMs: 15_000,
      // Uploaded through the page's 📷 input at the photo step.
      photo: await phonePhoto({ width: 640, height: 480 }),
      // The held notice was written before the 应急 one and sent after it; this branch's web chat
      // still reads sent rows by id, so its live poll has passed it (i13inbound's sent_seq cursor
      // fixes that). Reloading reads the history from the start: the notice is there once sent.
      awaitHeld: async (chat, pattern, ms) => {
        const page = (chat as WebChatDriver).page;
        const deadline = Date.now() + ms;
        for (;;) {
          await page.reload();
          const bubble = page.locator('#log .bot', { hasText: pattern });
          if (await bubble.first().waitFor({ timeout: 3000 }).then(() => true, () => false)) return bubble.first().innerText();
          if (Date.now() > deadline) throw new Error(`no web bubble matching ${pattern}`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      },
    });
    // The resident's page shows the 活动 notice with its photo, loaded (the bytes were served);
    // the neighbour's page has no photo at all.
    const img = cast.resident.page.locator('#log .bot', { hasText: '周末书法活动' }).locator('img');
    await img.first().waitFor({ timeout: 10_000 });
    expect(await img.count()).toBe(1);
    await expect.poll(() => img.first().evaluate((el) => (el as HTMLImageElement).naturalWidth), { timeout: 10_000 }).toBe(640);
    expect(await cast.neighbour.page.locator('#log .bot img').count()).toBe(0);
    for (const d of Object.values(cast)) await d.close();
  }, 200_000);

  it('lists a community’s published 居务公开 notices on a public page, without sign-in or personal data', async () => {
    const secretary = await makePerson(t.app.database);
    await assign(t.app.database, secretary, 'community_secretary', t.town.community.id);
    const db = t.app.database.db;
    const now = new Date();
    const quietOff = { hours: { startSec: 0, endSec: 0 }, timeZone: 'Asia/Shanghai' };
    for (const [category, title] of [['finance', '2026年第三季度财务收支'], ['activity', '不公开的活动通知']] as const) {
      const n = await db.transaction((tx) => createNotice(tx, secretary, { title, body: '收入 12,000 元，支出 9,500 元。', category, scopeUnitIds: [t.town.building.id] }, now));
      await db.transaction((tx) => confirmNotice(tx, secretary, n.id, now, quietOff));
    }
    const page = await (await browser.newContext()).newPage();
    const res = await page.goto(`${t.app.url}/public/${t.town.community.code}`);
    expect(res?.status()).toBe(200);
    const text = await page.locator('body').innerText();
    expect(text).toContain(zh.notices.publicTitle({ community: '幸福社区' }));
    expect(text).toContain('2026年第三季度财务收支');
    expect(text).not.toContain('不公开的活动通知');
    const html = await page.content();
    expect(html).not.toContain(secretary);
    expect((await page.goto(`${t.app.url}/public/NO-SUCH`))?.status()).toBe(404);
    await page.close();
  });
});
