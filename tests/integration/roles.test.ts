import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix, TEST_CODE_SECRET } from '../support/db.js';
import { createSmallTown } from '../support/org-fixture.js';

const zh = messages('zh-CN');

describe('the same build as separate processes: web and worker roles', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let web: RunningApp;
  let worker: RunningApp;
  let dataDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    await createSmallTown(database);
    dataDir = mkdtempSync(path.join(tmpdir(), 'linli-roles-'));
    const common = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniqueQueuePrefix(), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' };
    const start = (role: string) => createApp(loadConfig({ CODE_SECRET: TEST_CODE_SECRET, ...common, LINLI_ROLE: role }), { logger: createLogger('silent'), seed: false, sweepEveryMs: 500 }).start();
    web = await start('web');
    worker = await start('worker');
  });
  afterAll(async () => {
    await web?.stop();
    await worker?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves HTTP only in the web role and runs jobs only in the worker role', () => {
    expect(web.summary).toContain('(role: web)');
    expect(web.summary).toContain('/chat');
    expect(web.summary).not.toContain('Workers:');
    expect(worker.summary).toContain('(role: worker)');
    expect(worker.summary).toContain('Workers: deliver-web + case routing, deadlines, reminders + sweeps');
    expect(worker.summary).not.toContain('HTTP:');
  });

  it('answers a web chat visitor: the web process stores the message and delivers its reply, the worker runs the jobs', async () => {
    const session = await fetch(`${web.url}/chat/api/session`, { method: 'POST', headers: { origin: web.url } });
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    const deadline = Date.now() + 15_000;
    let texts: string[] = [];
    while (Date.now() < deadline && texts.length === 0) {
      const res = await fetch(`${web.url}/chat/api/messages?after=0`, { headers: { cookie } });
      texts = ((await res.json()) as { messages: { text: string }[] }).messages.map((m) => m.text);
    }
    expect(texts).toEqual([zh.onboarding.welcome]);
  });
});
