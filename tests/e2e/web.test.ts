import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { casePhotos, cases, inboundMessages } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { CAMERA_MODEL, jpegWithExif } from '../support/images.js';
import { launchChromium, WebChatDriver } from '../support/web-driver.js';
import { residentOnboarding, staffBinding } from './onboarding-script.js';

const zh = messages('zh-CN');
const ko = messages('ko');

describe.each(['redis', 'postgres'] as const)('the web chat in headless Chromium (%s queue)', (queue) => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestApp({}, { queue }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('greets a new visitor, onboards them with an invite code, and binds a grid worker', async () => {
    const resident = await WebChatDriver.open(browser, t.app.url);
    expect((await resident.received())[0]).toBe(zh.onboarding.welcome);
    await residentOnboarding(resident, t.town);
    const worker = await WebChatDriver.open(browser, t.app.url);
    await staffBinding(worker, t.town);
    await resident.close();
    await worker.close();
  });

  it('fits a phone screen: nothing scrolls sideways and the input stays in view', async () => {
    const chat = await WebChatDriver.open(browser, t.app.url);
    await chat.sendText('你好');
    await chat.expectMessage(zh.onboarding.welcome);
    const layout = await chat.page.evaluate(() => {
      const form = document.getElementById('form')!.getBoundingClientRect();
      return { scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth, formBottom: form.bottom, height: window.innerHeight };
    });
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.width);
    expect(layout.formBottom).toBeLessThanOrEqual(layout.height);
    await chat.close();
  });

  it('keeps the conversation across a page reload (the session cookie resumes it)', async () => {
    const chat = await WebChatDriver.open(browser, t.app.url);
    await chat.choose('한국어');
    await chat.expectMessage(ko.onboarding.privacyNotice.slice(0, 10));
    await chat.page.reload();
    await chat.page.locator('#log .bot').first().waitFor();
    // The page replays the history it has and the step is still the consent question.
    await chat.choose(ko.onboarding.agree);
    await chat.expectMessage(ko.onboarding.consentThanks);
    await chat.close();
  });

  it('answers a malformed API call with 400 and stores nothing', async () => {
    const chat = await WebChatDriver.open(browser, t.app.url);
    const stored = async () => (await t.app.database.db.select({ n: count() }).from(inboundMessages))[0]!.n;
    const before = await stored();
    const answers = await chat.page.evaluate(async () => {
      const post = async (body: string) => (await fetch('/chat/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status;
      return [await post('{"text": 42}'), await post('not json'), await post(JSON.stringify({ clientMessageId: 'x', text: 'hi' }))];
    });
    expect(answers).toEqual([400, 400, 400]);
    const noSession = await fetch(`${t.app.url}/chat/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(noSession.status).toBe(401);
    expect(await stored()).toBe(before);
    await chat.close();
  });
});

describe('reporting a case with a photo in the web chat', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestApp(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('uploads a photo from the page, strips its GPS block and files the case', async () => {
    const chat = await WebChatDriver.open(browser, t.app.url);
    await chat.choose('简体中文');
    await chat.choose(zh.onboarding.agree);
    await chat.choose(zh.onboarding.bindInvite);
    await chat.sendText(t.town.inviteCode);
    await chat.expectMessage(zh.dialog.menuTitle);
    await chat.choose(zh.cases.menuReport);
    await chat.choose('环境卫生');
    await chat.sendText('垃圾桶满了三天没人清');
    await chat.expectMessage(zh.cases.askPhotos({ max: 4 }));
    await chat.page.setInputFiles('#photo', { name: 'bin.jpg', mimeType: 'image/jpeg', buffer: await jpegWithExif() });
    await chat.expectMessage(zh.cases.photoSaved({ n: 1, max: 4 }));
    await chat.choose(zh.cases.done);
    await chat.expectMessage(zh.cases.askLocation);
    // The page offers the browser's location where the step asks for it.
    expect(await chat.page.isVisible('#loc')).toBe(true);
    await chat.choose(zh.cases.atMyHome);
    await chat.choose(zh.cases.normal);
    await chat.choose(zh.cases.submit);
    const submitted = await chat.expectMessage(/已受理，编号 T-\d{8}-\d{4}/);
    const number = /T-\d{8}-\d{4}/.exec(submitted)![0];
    const [c] = await t.app.database.db.select().from(cases).where(eq(cases.number, number));
    const photos = await t.app.database.db.select().from(casePhotos).where(eq(casePhotos.caseId, c!.id));
    expect(photos).toHaveLength(1);
    const stored = readFileSync(path.join(t.dataDir, 'photos', photos[0]!.storageKey));
    expect(stored.includes(Buffer.from(CAMERA_MODEL))).toBe(false);
    expect(stored.includes(Buffer.from('Exif\0'))).toBe(false);
    // The raw upload (GPS and all) is gone once the step has read it, and the folder is private.
    expect(readdirSync(path.join(t.dataDir, 'uploads'))).toEqual([]);
    expect(statSync(path.join(t.dataDir, 'uploads')).mode & 0o777).toBe(0o700);
    await chat.close();
  });
});
