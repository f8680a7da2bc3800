import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities, outbox } from '../../db/schema/index.js';
import { createJobs } from '../../jobs/producer.js';
import { writeOutbox } from '../../src/outbox/outbox.js';
import { createApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix } from '../support/db.js';
import { createSmallTown } from '../support/org-fixture.js';
import { flushPrefix } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const zh = messages('zh-CN');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Far longer than the test may run: a reply can only arrive in time if the push wakes the poll. */
const LONG_POLL_MS = 600_000;

type Poll = { messages: { id: number; text: string }[] };

describe.each(['redis', 'postgres'] as const)('web replies are pushed across processes (%s)', (queue) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let web: RunningApp;
  let worker: ChildProcess;
  let dataDir: string;
  const prefix = uniqueQueuePrefix();

  beforeAll(async () => {
    database = await createTestDatabase();
    await createSmallTown(database);
    dataDir = mkdtempSync(path.join(tmpdir(), 'linli-push-'));
    const common = {
      DATABASE_URL: database.url,
      ...(queue === 'redis' ? { REDIS_URL: TEST_REDIS_URL } : {}),
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
    };
    // The worker role in a process of its own: it shares only PostgreSQL (and Redis) with the web role.
    worker = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'tests/support/app-child.ts')], {
      cwd: root,
      env: { ...process.env, ...common, LINLI_ROLE: 'worker' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout!.on('data', (d) => (out += String(d)));
    worker.stderr!.on('data', (d) => (out += String(d)));
    web = await createApp(loadConfig({ ...common, LINLI_ROLE: 'web' }), { logger: createLogger('silent'), seed: false, webLongPollMs: LONG_POLL_MS }).start();
    await waitFor(async () => out.includes('ready') || worker.exitCode !== null, 'the worker process to start', 30_000);
    expect(out).toContain('ready');
  }, 60_000);
  afterAll(async () => {
    await web?.stop();
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await database?.drop();
    if (queue === 'redis') await flushPrefix(prefix);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const openChat = async () => {
    const session = await fetch(`${web.url}/chat/api/session`, { method: 'POST', headers: { origin: web.url } });
    return session.headers.get('set-cookie')!.split(';')[0]!;
  };
  const poll = async (cookie: string, after: number) => (await (await fetch(`${web.url}/chat/api/messages?after=${after}`, { headers: { cookie } })).json()) as Poll;
  const say = (cookie: string, text: string) =>
    fetch(`${web.url}/chat/api/messages`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: web.url },
      body: JSON.stringify({ clientMessageId: crypto.randomUUID(), text }),
    });

  /** A new chat, its greeting read, and its channel identity. */
  const openGreetedChat = async () => {
    const cookie = await openChat();
    const greeting = await poll(cookie, 0);
    const sid = cookie.split('=')[1]!.split('.')[0]!;
    const [identity] = await database.db
      .select({ id: channelIdentities.id })
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, 'web'), eq(channelIdentities.userRef, sid)));
    return { cookie, greeting, sid, identity };
  };

  it('wakes a waiting long poll when the reply to its message is delivered', async () => {
    const cookie = await openChat();
    // The greeting: this poll may find it at once or wait for its push.
    const first = (await (await fetch(`${web.url}/chat/api/messages?after=0`, { headers: { cookie } })).json()) as Poll;
    expect(first.messages.map((m) => m.text)).toEqual([zh.onboarding.welcome]);
    const lastId = first.messages[0]!.id;

    // A poll waiting for the next reply: nothing is sent yet, so it must be asleep when the reply comes.
    let answered = false;
    const waiting = fetch(`${web.url}/chat/api/messages?after=${lastId}`, { headers: { cookie } }).then(async (r) => {
      answered = true;
      return (await r.json()) as Poll;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    const post = await fetch(`${web.url}/chat/api/messages`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: web.url },
      body: JSON.stringify({ clientMessageId: crypto.randomUUID(), text: '你好' }),
    });
    expect(post.status).toBe(202);
    const next = await waiting;
    expect(next.messages.length).toBeGreaterThan(0);
    expect(next.messages[0]!.id).toBeGreaterThan(lastId);
    // Onboarding repeats its question to a visitor who answered something else.
    expect(next.messages.map((m) => m.text).join('\n')).toContain(zh.onboarding.welcome.slice(0, 6));
  }, 20_000);

  it('writes a web reply sent in the turn itself, and behind a reply of the chat still waiting it waits its turn', async () => {
    const { cookie, greeting, sid, identity } = await openGreetedChat();
    expect((await say(cookie, '你好')).status).toBe(202);
    const first = await poll(cookie, greeting.messages.at(-1)!.id);
    // No deliver job and no second transaction: the row was inserted sent (a delivery counts an attempt).
    const [row] = await database.db.select().from(outbox).where(eq(outbox.sentSeq, first.messages[0]!.id));
    expect(row).toMatchObject({ status: 'sent', attempts: 0, identityId: identity!.id });

    // A case card to this chat, committed but not yet delivered (its job is behind): the next
    // reply must not overtake it, so it is written pending and delivered after it, in order.
    await writeOutbox(database.db, [{ to: { identityId: identity!.id, channel: 'web', chatRef: sid }, reply: { locale: 'zh-CN', text: '案件卡片' } }]);
    expect((await say(cookie, '你好')).status).toBe(202);
    const after: string[] = [];
    let cursor = first.messages.at(-1)!.id;
    while (after.length < 2) {
      const got = await poll(cookie, cursor);
      after.push(...got.messages.map((m) => m.text));
      cursor = got.messages.at(-1)?.id ?? cursor;
    }
    expect(after[0]).toBe('案件卡片');
    expect(after[1]).toContain(zh.onboarding.welcome.slice(0, 6));
  }, 30_000);

  it('wakes a waiting long poll when the worker process delivers to its chat, and shows a broadcast sent after a later reply', async () => {
    const { cookie, greeting, sid, identity } = await openGreetedChat();
    // A broadcast row written first but not yet handed to delivery (its fan-out job is behind).
    const [broadcast] = await writeOutbox(database.db, [
      { to: { identityId: identity!.id, channel: 'web', chatRef: sid }, reply: { locale: 'zh-CN', text: '停水通知' }, priority: 'broadcast' },
    ]);
    expect((await say(cookie, '你好')).status).toBe(202);
    const reply = await poll(cookie, greeting.messages.at(-1)!.id);
    expect(reply.messages.map((m) => m.text)).not.toContain('停水通知');
    // Broadcasts go through the deliver queue, so the worker process sends this one and its push
    // must cross to the web process to end the waiting poll.
    let answered = false;
    const waiting = poll(cookie, reply.messages.at(-1)!.id).then((got) => ((answered = true), got));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    const producer = createJobs(web.backend);
    await producer.delivery.enqueue([broadcast!]);
    await producer.close();
    expect((await waiting).messages.map((m) => m.text)).toEqual(['停水通知']);
  }, 30_000);
});
