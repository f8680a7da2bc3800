import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from './app.js';
import { TelegramEmulator } from './telegram-emulator.js';
import { launchChromium } from './web-driver.js';
import { WechatEmulator, type WechatDriver } from './wechat-driver.js';

/**
 * The app of an e2e file, started once for the file (beforeAll) and stopped after it, with the
 * channel's emulator beside it: one setup for every module's story on that channel. Call inside
 * the `describe`; read `t` (and the emulator) in the tests.
 */
export function wechatApp(env: Record<string, string> = {}) {
  let t: TestApp | undefined;
  let wx: WechatEmulator | undefined;
  const drivers: WechatDriver[] = [];
  beforeAll(async () => {
    wx = new WechatEmulator('邻里');
    t = await startTestApp({ WECHATY_PUPPET: 'wechaty-puppet-mock', ...env }, { queue: 'redis', wechatPuppet: wx.puppet });
    // The app starts the channel in the background; the bot account logs in once the puppet runs.
    await wx.loggedIn();
  });
  afterAll(async () => {
    for (const d of drivers) await d.close();
    await t?.stop();
    wx?.stop();
  });
  return {
    get t(): TestApp {
      return t!;
    },
    /** A WeChat user talking to the bot, closed with the app. */
    contact(name: string): WechatDriver {
      const d = wx!.contact(name);
      drivers.push(d);
      return d;
    },
  };
}

export function telegramApp(env: Record<string, string> = {}, token = '123456:TEST-token') {
  let t: TestApp | undefined;
  let emulator: TelegramEmulator | undefined;
  beforeAll(async () => {
    emulator = await TelegramEmulator.start({ token });
    t = await startTestApp({ TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: emulator.url, ...env }, { queue: 'redis' });
  });
  afterAll(async () => {
    await t?.stop();
    await emulator?.close();
  });
  return {
    get t(): TestApp {
      return t!;
    },
    get emulator(): TelegramEmulator {
      return emulator!;
    },
  };
}

export function webApp(env: Record<string, string> = {}) {
  let t: TestApp | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestApp(env, { queue: 'redis' }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });
  return {
    get t(): TestApp {
      return t!;
    },
    get browser(): Browser {
      return browser!;
    },
  };
}
