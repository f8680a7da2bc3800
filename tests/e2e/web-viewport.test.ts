import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { messages } from '../../src/i18n/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jpegWithExif } from '../support/images.js';
import { launchChromium, WebChatDriver } from '../support/web-driver.js';

const zh = messages('zh-CN');
/** Screenshots of each step, kept as test artefacts (the folder is gitignored). */
const SHOTS = path.resolve('tests/artifacts/web-viewport');

describe('the web chat on a 390×844 phone', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [t, browser] = await Promise.all([startTestApp(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** The newest bot message's buttons, each inside the visible part of the conversation. */
  async function expectLastButtonsInView(chat: WebChatDriver, shot: string) {
    // Let the page settle (images, the location button) before measuring.
    await chat.page.waitForTimeout(150);
    await chat.page.screenshot({ path: path.join(SHOTS, `${shot}.png`) });
    const boxes = await chat.page.evaluate(() => {
      const log = document.getElementById('log')!.getBoundingClientRect();
      const bots = document.querySelectorAll('#log .bot');
      const last = bots[bots.length - 1]!;
      return {
        log: { top: log.top, bottom: log.bottom },
        viewport: window.innerHeight,
        buttons: [...last.querySelectorAll('.choices button')].map((b) => {
          const r = b.getBoundingClientRect();
          return { top: r.top, bottom: r.bottom };
        }),
      };
    });
    for (const b of boxes.buttons) {
      expect(b.top, `${shot}: a button starts above the conversation`).toBeGreaterThanOrEqual(boxes.log.top - 1);
      expect(b.bottom, `${shot}: a button is below the fold`).toBeLessThanOrEqual(Math.min(boxes.log.bottom, boxes.viewport) + 1);
    }
    return boxes.buttons.length;
  }

  /**
   * Buttons still clickable in bot messages before the newest one that has buttons (the notice
   * that routing sends after the menu has none): the texts of those messages, expected empty.
   */
  function olderChoicesEnabled(chat: WebChatDriver) {
    return chat.page.$$eval('#log .bot', (els) => {
      const withButtons = els.filter((el) => el.querySelector('.choices button'));
      return withButtons
        .slice(0, -1)
        .filter((el) => [...el.querySelectorAll('.choices button')].some((b) => !(b as HTMLButtonElement).disabled))
        .map((el) => el.firstChild?.textContent ?? '');
    });
  }

  it('keeps the newest buttons in view after every step of onboarding and a report, and keeps the person’s own messages across a reload', { timeout: 180_000 }, async () => {
    const chat = await WebChatDriver.open(browser, t.app.url);
    const step = async (shot: string, act: () => Promise<void>, expectText: string | RegExp) => {
      await act();
      await chat.expectMessage(expectText);
      return expectLastButtonsInView(chat, shot);
    };
    expect(await expectLastButtonsInView(chat, '01-welcome')).toBeGreaterThan(0);
    await step('02-privacy', () => chat.choose('简体中文'), zh.onboarding.privacyNotice.slice(0, 10));
    await step('03-bind', () => chat.choose(zh.onboarding.agree), /./);
    await step('04-invite', () => chat.choose(zh.onboarding.bindInvite), /./);
    expect(await step('05-menu', () => chat.sendText(t.town.inviteCode), zh.dialog.menuTitle)).toBeGreaterThan(0);
    expect(await step('06-category', () => chat.choose(zh.cases.menuReport), zh.cases.pickCategory)).toBeGreaterThan(3);
    await step('07-description', () => chat.choose('环境卫生'), zh.cases.askDescription);
    expect(await step('08-photos', () => chat.sendText('垃圾桶满了三天没人清'), zh.report.photoHow_web)).toBe(2);
    // The resident's own photo shows as a thumbnail in their bubble.
    await step('09-photo', async () => chat.page.setInputFiles('#photo', { name: 'bin.jpg', mimeType: 'image/jpeg', buffer: await jpegWithExif() }), zh.cases.photoSaved({ n: 1, max: 4 }));
    expect(await chat.page.locator('#log .me img.thumb').count()).toBe(1);
    await step('10-location', () => chat.choose(zh.cases.done), zh.cases.askLocation);
    await step('11-priority', () => chat.choose(zh.cases.atMyHome), zh.cases.askPriority);
    expect(await step('12-confirm', () => chat.choose(zh.cases.normal), '地点：就在我家')).toBe(3);
    await step('13-submitted', () => chat.choose(zh.cases.submit), /已受理，编号 T-\d{8}-\d{4}/);

    // Answered and superseded choices are no longer clickable: only the newest step's are.
    expect(await olderChoicesEnabled(chat)).toEqual([]);

    // Reload: the history comes back with the person's own messages in it, in place.
    const mineBefore = await chat.page.$$eval('#log .me', (els) => els.map((e) => e.textContent));
    await chat.page.reload();
    await chat.page.locator('#log .bot').first().waitFor();
    await chat.expectMessage(/已受理，编号/);
    await chat.page.waitForTimeout(300);
    const mineAfter = await chat.page.$$eval('#log .me', (els) => els.map((e) => e.textContent));
    expect(mineAfter).toEqual(mineBefore);
    expect(mineAfter).toContain('垃圾桶满了三天没人清');
    expect(await chat.page.locator('#log .me img.thumb').count()).toBe(1);
    const order = await chat.page.$$eval('#log .msg', (els) => els.map((e) => e.textContent ?? ''));
    expect(order.findIndex((x) => x === '垃圾桶满了三天没人清')).toBeGreaterThan(order.findIndex((x) => x.startsWith(zh.cases.askDescription)));
    await expectLastButtonsInView(chat, '14-reloaded');
    expect(await olderChoicesEnabled(chat)).toEqual([]);
    await chat.close();
  });

  it('matches the server’s text limit and keeps an over-long message in the box; has a favicon and a reading width on a desktop', { timeout: 60_000 }, async () => {
    const chat = await WebChatDriver.open(browser, t.app.url);
    const long = '漏'.repeat(2001);
    await chat.page.fill('#text', long);
    await chat.page.click('form button[type=submit]');
    expect(await chat.page.inputValue('#text')).toBe(long);
    expect(await chat.page.textContent('#status')).toBe(messages('zh-CN').webchat.tooLong({ max: 2000 }));
    expect(await chat.page.$$eval('#log .me', (els) => els.length)).toBe(0);
    expect(await chat.page.getAttribute('link[rel=icon]', 'href')).toMatch(/^data:image\/svg\+xml,/);

    await chat.page.setViewportSize({ width: 1440, height: 900 });
    await chat.page.screenshot({ path: path.join(SHOTS, '20-desktop.png') });
    const widest = await chat.page.$$eval('#log .msg', (els) => Math.max(...els.map((e) => e.getBoundingClientRect().width)));
    expect(widest).toBeLessThanOrEqual(34 * 16 + 1);
    await chat.close();
  });
});
