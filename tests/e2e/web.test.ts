import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { inboundMessages } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
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
    const noSession = await fetch(`${t.app.url}/chat/api/messages`, { method: 'POST', body: '{}' });
    expect(noSession.status).toBe(401);
    expect(await stored()).toBe(before);
    await chat.close();
  });
});
