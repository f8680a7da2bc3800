import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ChatDriver } from './chat-driver.js';

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Containers run as root without a user namespace sandbox; the rest keeps Chromium quiet offline.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** A phone-sized viewport: the web chat must work on one. */
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/**
 * One person in the web chat, driving the real page in headless Chromium: typing into the box,
 * tapping the choice buttons, reading the bot's bubbles.
 */
export class WebChatDriver implements ChatDriver {
  readonly channel = 'web' as const;
  private seenBefore = 0;
  private lastPost: { url: string; body: string } | undefined;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    // WEBTRACE=1 prints the page's API traffic with times: what to read when an e2e test stalls.
    const t0 = Date.now();
    if (process.env.WEBTRACE) {
      page.on('request', (req) => { if (req.url().includes('/chat/api')) console.error(`[trace ${Date.now()-t0}] -> ${req.method()} ${req.url().replace(/.*chat/, '')} ${req.postData() ?? ''}`); });
      page.on('response', async (res) => { if (res.url().includes('/chat/api')) console.error(`[trace ${Date.now()-t0}] <- ${res.status()} ${res.url().replace(/.*chat/, '')} ${(await res.text().catch(() => '')).slice(0, 100)}`); });
    }
    page.on('request', (req) => {
      if (req.method() === 'POST' && req.url().endsWith('/chat/api/messages')) {
        this.lastPost = { url: req.url(), body: req.postData() ?? '' };
      }
    });
  }

  static async open(browser: Browser, baseUrl: string, locale = 'zh-CN'): Promise<WebChatDriver> {
    const context = await browser.newContext({ ...PHONE, locale });
    const page = await context.newPage();
    const driver = new WebChatDriver(context, page);
    await page.goto(`${baseUrl}/chat`);
    // The page opens its session and a new visitor is greeted without having to speak first.
    await page.locator('#log .bot').first().waitFor({ timeout: 15_000 });
    return driver;
  }

  private async mark() {
    this.seenBefore = (await this.received()).length;
  }

  async sendText(text: string): Promise<void> {
    await this.mark();
    await this.page.fill('#text', text);
    await this.page.click('form button[type=submit]');
  }

  /** Sends a photo through the page's 📷 file input, as a person picking one from their phone. */
  async sendPhoto(bytes: Buffer, name = 'photo.jpg'): Promise<void> {
    await this.mark();
    await this.page.setInputFiles('#photo', { name, mimeType: 'image/jpeg', buffer: bytes });
  }

  async choose(label: string): Promise<void> {
    await this.mark();
    // The latest enabled buttons offering the label; an exact label beats one that only contains it (同意 vs 不同意).
    const offered = this.page.locator('.bot .choices button:not([disabled])', { hasText: label });
    const deadline = Date.now() + 15_000;
    for (;;) {
      await offered.last().waitFor({ timeout: Math.max(1, deadline - Date.now()) });
      const labels = await offered.allTextContents();
      const exact = labels.lastIndexOf(label);
      // The reply to what was sent just before may arrive between finding a button and clicking
      // it: its new question retires the old buttons, as it does for a person, and the tap then
      // does nothing (or Playwright waits on a button that stays disabled). A tap that took shows
      // at once as the person's own bubble; otherwise pick again from what is on the page now.
      const mine = await this.page.locator('#log .me').count();
      try {
        await offered.nth(exact >= 0 ? exact : labels.length - 1).click({ timeout: 2_000 });
        await this.page.waitForFunction((n) => document.querySelectorAll('#log .me').length > n, mine, { timeout: 1_000 });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
  }

  async expectMessage(pattern: string | RegExp, timeoutMs = 15_000): Promise<string> {
    const matches = (t: string) => (typeof pattern === 'string' ? t.includes(pattern) : pattern.test(t));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await this.received();
      const hit = all.slice(this.seenBefore).find(matches);
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no web chat message matching ${String(pattern)}; after the last action came:\n${all.slice(this.seenBefore).join('\n---\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The text of every bot bubble (without its buttons), oldest first. */
  received(): Promise<string[]> {
    return this.page.$$eval('#log .bot', (els) => els.map((el) => (el.firstChild?.textContent ?? '').trim()));
  }

  /** Posts the page's last message again with the same body and client message id. */
  async resendLast(): Promise<void> {
    const last = this.lastPost;
    if (!last) throw new Error('nothing sent yet');
    const status = await this.page.evaluate(
      async ({ url, body }) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status,
      last,
    );
    if (status >= 400) throw new Error(`resend answered ${status}`);
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
