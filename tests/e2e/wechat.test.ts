import { vi } from 'vitest';

// wechaty reads its log level when it is first imported, so this runs before the imports below.
vi.hoisted(() => {
  process.env.WECHATY_LOG ??= 'silent';
});

import { and, count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities, inboundMessages, outbox } from '../../db/schema/index.js';
import { createApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL, uniqueQueuePrefix, TEST_CODE_SECRET } from '../support/db.js';
import { WechatEmulator, type WechatDriver } from '../support/wechat-driver.js';
import { residentOnboarding, staffBinding } from './onboarding-script.js';

/** Gives a message that must be ignored the chance to (wrongly) produce a reply or a row. */
const settle = (ms = 1500) => new Promise((r) => setTimeout(r, ms));

describe('WeChat through wechaty-puppet-mock', () => {
  let t: TestApp;
  let wx: WechatEmulator;
  let resident: WechatDriver;
  let worker: WechatDriver;
  let secondApp: RunningApp | undefined;
  let wx2: WechatEmulator | undefined;
  let resident2: WechatDriver | undefined;

  beforeAll(async () => {
    wx = new WechatEmulator('邻里');
    t = await startTestApp({ WECHATY_PUPPET: 'wechaty-puppet-mock' }, { queue: 'redis', wechatPuppet: wx.puppet });
    // The app starts the channel in the background; the bot account logs in once the puppet runs.
    await wx.loggedIn();
    resident = wx.contact('居民');
    worker = wx.contact('网格员');
  });

  afterAll(async () => {
    await resident?.close();
    await worker?.close();
    await resident2?.close();
    await secondApp?.stop();
    await t?.stop();
    wx?.stop();
    wx2?.stop();
  });

  const db = () => (secondApp ?? t.app).database.db;
  async function inboundRows(refs: string[]) {
    if (!refs.length) return [];
    return db().select().from(inboundMessages).where(and(eq(inboundMessages.channel, 'wechat'), inArray(inboundMessages.messageRef, refs)));
  }
  async function inboundCount() {
    const [row] = await db().select({ n: count() }).from(inboundMessages);
    return row!.n;
  }
  async function identityOf(userRef: string) {
    const [row] = await db()
      .select()
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, 'wechat'), eq(channelIdentities.userRef, userRef)));
    return row;
  }

  it('onboards a resident with numbered choices', async () => {
    await residentOnboarding(resident, t.town);

    // Every message the resident typed was recorded exactly once, under its WeChat message id,
    // including the one the puppet delivered twice.
    const sentIds = resident.sent.map((m) => m.id);
    expect(new Set(sentIds).size).toBe(sentIds.length);
    const rows = await inboundRows(sentIds);
    expect(rows).toHaveLength(sentIds.length);
    const identity = await identityOf(resident.id);
    expect(identity).toBeDefined();
    expect(rows.every((r) => r.identityId === identity!.id)).toBe(true);

    // Choices really arrived as numbered lines, not buttons.
    expect((await resident.received()).some((text) => /^1\. 简体中文$/m.test(text))).toBe(true);
  }, 120_000);

  it('binds a grid worker with a one-time staff code', async () => {
    await staffBinding(worker, t.town);
  }, 60_000);

  /** Sends `text`, waits for an answer matching `pattern`, then for stragglers; returns all that came. */
  async function exchange(chat: WechatDriver, text: string, pattern: RegExp) {
    const before = chat.inbox.length;
    await chat.sendText(text);
    await chat.expectMessage(pattern);
    await settle();
    return chat.inbox.slice(before).map((m) => m.text);
  }
  /** How many messages the bot answers unknown input with (measured before the restarts); too short to be offered as a report. */
  let unknownAnswer: string[] = [];

  it('ignores a message in a group chat: no reply and nothing stored', async () => {
    const room = wx.room('幸福社区业主群', [wx.bot, resident.user, worker.user]);
    const repliesBefore = resident.inbox.length;
    const inboundBefore = await inboundCount();
    await resident.sayInRoom(room, '你好');
    await settle();

    const roomMessage = resident.sent.at(-1)!;
    expect(roomMessage.text).toBe('你好');
    expect(roomMessage.payload.roomId).toBe(room.id);
    expect(await inboundRows([roomMessage.id])).toHaveLength(0);
    expect(await inboundCount()).toBe(inboundBefore);
    expect(resident.inbox.length).toBe(repliesBefore);

    // The channel was listening all along: a private message right after is answered.
    unknownAnswer = await exchange(resident, '嗯嗯', /菜单/);
    expect(await inboundCount()).toBe(inboundBefore + 1);
  }, 60_000);

  it('never answers its own messages', async () => {
    // The bot account's own replies come back from the puppet as messages; none was taken as input.
    const botReplies = [...resident.inbox, ...worker.inbox].map((m) => m.id);
    expect(botReplies.length).toBeGreaterThan(10);
    expect(await inboundRows(botReplies)).toHaveLength(0);
    expect(await identityOf(wx.bot.id)).toBeUndefined();

    // Nor is a message typed on the bot account's phone into a resident's chat.
    const before = resident.inbox.length;
    const inboundBefore = await inboundCount();
    wx.bot.say('我是邻里，稍后联系您').to(resident.user);
    await settle();
    expect(resident.inbox.slice(before).map((m) => m.text)).toEqual(['我是邻里，稍后联系您']);
    expect(await inboundCount()).toBe(inboundBefore);
    expect(await identityOf(wx.bot.id)).toBeUndefined();
  }, 30_000);

  it('restarts the channel after a puppet failure and the conversation carries on', async () => {
    const logins = wx.logins;
    const starts = wx.starts;
    const listeners = wx.puppet.listenerCount('message');
    wx.puppet.emit('error', { gerror: 'simulated puppet failure' });

    // The adapter stops wechaty (the puppet logs out), waits, and starts it again; the process lives on.
    await wx.loggedIn(logins, 30_000);
    expect(wx.starts).toBe(starts + 1);
    expect(wx.puppet.listenerCount('message')).toBe(listeners);

    // Same conversation, same state: one message, one (unchanged) answer.
    expect(await exchange(resident, '嗯嗯', /菜单/)).toEqual(unknownAnswer);
    await worker.sendText(`/staff ${t.town.staffCodes.gridWorker}`);
    await worker.expectMessage(messages('zh-CN').staff.codeInvalid);
  }, 60_000);

  it('refuses a redelivered message in the database after the app restarts (fresh in-memory ids)', async () => {
    // Stop the app (its adapter and the adapter's recent-id memory go away) and start a new one on
    // the same database, with a new puppet session for the same WeChat accounts.
    await t.app.stop();
    wx.stop();
    wx2 = new WechatEmulator('邻里', { botId: wx.bot.id });
    resident2 = wx2.contact('居民', resident.id);
    const config = loadConfig({
    CODE_SECRET: TEST_CODE_SECRET,
      DATABASE_URL: t.app.database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: uniqueQueuePrefix(),
      PORT: '0',
      DATA_DIR: t.dataDir,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      WECHATY_PUPPET: 'wechaty-puppet-mock',
    });
    secondApp = await createApp(config, { logger: createLogger(config.logLevel), seed: false, sweepEveryMs: 500, wechatPuppet: wx2.puppet }).start();
    await wx2.loggedIn();

    // WeChat delivers the resident's last message again: same id, same payload.
    const last = resident.sent.at(-1)!;
    const inboundBefore = await inboundCount();
    const outboxBefore = (await db().select({ n: count() }).from(outbox))[0]!.n;
    await resident2.redeliver(last);
    await settle(2000);
    expect(resident2.inbox).toHaveLength(0);
    expect(await inboundCount()).toBe(inboundBefore);
    expect((await db().select({ n: count() }).from(outbox))[0]!.n).toBe(outboxBefore);

    // It reached the dialog engine and was refused there as a duplicate.
    const metrics = await (await fetch(`${secondApp.url}/metrics`)).text();
    expect(metrics).toMatch(/^linli_inbound_events_total\{channel="wechat",result="duplicate"\} 1$/m);

    // And the new app answers a new message from the same, already onboarded person.
    expect(await exchange(resident2, '嗯嗯', /菜单/)).toEqual(unknownAnswer);
  }, 60_000);
});
