import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { afterEach, describe, expect, it } from 'vitest';
import { createWechatAdapter } from '../../bots/wechat/index.js';
import type { InboundEvent } from '../../src/dialog/events.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../support/wait.js';
import { WechatEmulator } from '../support/wechat-driver.js';

/**
 * WeChat hands a message over once: if the database refuses it, the adapter holds it and retries,
 * and when it still cannot be stored the person is told it was not recorded (never silence).
 */
describe('a WeChat message the database refuses (wechaty-puppet-mock)', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  async function start(handler: (e: InboundEvent) => Promise<void>) {
    const wx = new WechatEmulator('邻里');
    const adapter = createWechatAdapter({ puppet: 'wechaty-puppet-mock', name: 'store-or-tell' } as never, {
      logger: createLogger('silent'),
      puppet: wx.puppet,
      storeRetryMs: [50, 100, 200],
    });
    await adapter.start(handler);
    await wx.loggedIn();
    stop = async () => {
      await adapter.stop();
      wx.stop();
    };
    return wx;
  }

  it('stores it on a retry and says nothing more', async () => {
    let tries = 0;
    const stored: string[] = [];
    const wx = await start(async (e) => {
      tries++;
      if (tries <= 2) throw new Error('connection refused');
      stored.push(e.kind === 'text' ? e.text : '?');
    });
    const resident = wx.contact('居民');
    await resident.sendText('楼道灯坏了');
    await waitFor(async () => stored.length === 1, 'the message stored');
    expect(tries).toBe(3);
    await new Promise((r) => setTimeout(r, 500));
    expect(await resident.received()).toEqual([]);
  });

  it('tells the person it was not recorded when it still cannot be stored', async () => {
    let tries = 0;
    const wx = await start(async () => {
      tries++;
      throw new Error('the database is down');
    });
    const resident = wx.contact('居民');
    await resident.sendText('电梯停了');
    await resident.expectMessage(messages('zh-CN').common.notStored);
    expect(tries).toBe(4);
  });
});
