import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

describe.each(['redis', 'postgres'] as const)('the app on the %s queue backend', (queue) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { queue });
  });
  afterAll(async () => t?.stop());

  it('reports database and queue reachable on /healthz', async () => {
    const res = await fetch(`${t.app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', db: 'ok', queue: 'ok' });
  });

  it('serves Prometheus metrics with the outbox gauge', async () => {
    const res = await fetch(`${t.app.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toMatch(/^# TYPE linli_outbox_pending gauge$/m);
    expect(body).toMatch(/^linli_outbox_pending 0$/m);
  });

  it('serves the web chat page', async () => {
    const res = await fetch(`${t.app.url}/chat`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<meta name="viewport"');
  });

  it('prints what it started and where', () => {
    expect(t.app.summary).toContain('linli is running (role: all)');
    expect(t.app.summary).toContain(queue === 'redis' ? 'Jobs: BullMQ on Redis' : 'Jobs: BullMQ on PostgreSQL');
    expect(t.app.summary).toContain(`${t.app.url}/chat`);
    // Nobody is bound in the small town yet: the banner says reports would wait.
    expect(t.app.summary).toContain('WARNING: 2 grid(s) and 1 community(ies) have no grid worker or leader bound');
  });
});

describe('start-up with a wrong environment', () => {
  it('stops with a message naming each bad variable and what it expects', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'eighty', REDIS_URL: 'http://nope', TELEGRAM_WEBHOOK_URL: 'https://x.example/hook', TELEGRAM_BOT_TOKEN: '1:abc' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('linli cannot start: the configuration is invalid.');
    expect(run.stderr).toMatch(/PORT: /);
    expect(run.stderr).toMatch(/REDIS_URL: a URL starting with redis: or rediss:/);
    expect(run.stderr).toMatch(/TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set/);
  });
});

describe('metrics behind a token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: 'metrics-token-0123456789' });
  });
  afterAll(async () => t?.stop());

  it('refuses /metrics without the bearer token and serves it with it', async () => {
    expect((await fetch(`${t.app.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.app.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    const ok = await fetch(`${t.app.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/linli_outbox_pending/);
  });
});
