import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTelegramAdapter, type TelegramAdapter } from '../../bots/telegram/index.js';
import type { InboundEvent } from '../../src/dialog/events.js';
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
    adapter = createTelegramAdapter({ token: TOKEN, apiRoot: emulator.url, rate: { globalPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20 } }, { logger: createLogger('silent') });
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
});
