import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTelegramAdapter, type TelegramAdapter } from '../../bots/telegram/index.js';
import type { InboundEvent } from '../../src/dialog/events.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { waitFor } from '../support/wait.js';

const TOKEN = '424242:POLLING-test';

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('Telegram long polling (@grammyjs/runner)', () => {
  let emulator: TelegramEmulator;
  let adapter: TelegramAdapter;
  beforeEach(async () => {
    emulator = await TelegramEmulator.start({ token: TOKEN });
    adapter = createTelegramAdapter({ token: TOKEN, apiRoot: emulator.url, rate: { globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 } }, { logger: createLogger('silent'), storeRetryMs: [50, 100, 200] });
  });
  afterEach(async () => {
    await adapter.stop();
    await emulator.close();
  });

  it('handles updates from two chats concurrently and keeps the order within a chat', async () => {
    // Chat A's first message is held until chat B's message has been handled. Handled one at a
    // time, B would wait behind A forever and the test would time out.
    const a1 = emulator.userSendsText(8001, 'A1');
    const a2 = emulator.userSendsText(8001, 'A2');
    const b1 = emulator.userSendsText(8002, 'B1');
    const bHandled = gate();
    const log: string[] = [];
    await adapter.start(async (event: InboundEvent) => {
      const text = event.kind === 'text' ? event.text : '?';
      log.push(`start ${text}`);
      if (text === 'A1') await bHandled.opened;
      log.push(`end ${text}`);
      if (text === 'B1') bHandled.open();
    });
    await waitFor(async () => log.length === 6, 'all three updates handled');
    expect(log.indexOf('end B1')).toBeLessThan(log.indexOf('end A1')); // B overtook A1 …
    expect(log.indexOf('start A2')).toBeGreaterThan(log.indexOf('end A1')); // … but A2 did not
    await waitFor(async () => [a1, a2, b1].every((id) => emulator.isConfirmed(id)), 'the updates to be confirmed');
  });

  it('confirms an update to Telegram only after it was handled, and stop() waits for it', async () => {
    const slow = gate();
    const started = gate();
    const id = emulator.userSendsText(8003, 'slow');
    let handled = false;
    await adapter.start(async () => {
      started.open();
      await slow.opened;
      handled = true;
    });
    await started.opened;
    // The poller is not fetching again (which would confirm the update) while it is being handled.
    expect(emulator.isConfirmed(id)).toBe(false);
    const stopping = adapter.stop();
    slow.open();
    await stopping;
    expect(handled).toBe(true);
  });

  it('holds an update the database refused and stores it on a retry, confirming it only then', async () => {
    const id = emulator.userSendsText(8004, '楼道灯坏了', { languageCode: 'zh-hans' });
    let tries = 0;
    const stored: string[] = [];
    await adapter.start(async (event: InboundEvent) => {
      tries++;
      if (tries <= 2) throw new Error('connection refused');
      stored.push(event.kind === 'text' ? event.text : '?');
    });
    await emulator.waitConfirmed(id);
    expect(tries).toBe(3);
    expect(stored).toEqual(['楼道灯坏了']);
    expect(emulator.sentTo(8004)).toHaveLength(0);
  });

  it('tells the person their message was not recorded when it still cannot be stored, in their language', async () => {
    const id = emulator.userSendsText(8005, '电梯停了', { languageCode: 'ko' });
    let tries = 0;
    await adapter.start(async () => {
      tries++;
      throw new Error('the database is down');
    });
    await emulator.waitConfirmed(id);
    expect(tries).toBe(4);
    expect(emulator.sentTo(8005).map((m) => m.text)).toEqual([messages('ko').common.notStored]);
  });
});
