import { unlimitedCalls } from '../../src/limits/calls.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendParts, textWithSkipNote, type ChannelAdapter, type MediaBytes, type SendProgress, type SendResult } from '../../bots/channel.js';
import { connect, type Database } from '../../db/client.js';
import { channelIdentities, dialogStates, outbox, people } from '../../db/schema/index.js';
import { createQueueBackend, type QueueBackend } from '../../jobs/backend.js';
import { createJobs } from '../../jobs/producer.js';
import { sweepOutbox, SWEEP_GRACE_MS } from '../../jobs/outbox-sweep.js';
import { defaultJobOptions } from '../../jobs/define.js';
import { ALL_JOBS, JOBS, deliverJobFor } from '../../jobs/registry.js';
import { startWorkers } from '../../jobs/workers.js';
import { loadConfig } from '../../src/config.js';
import type { Channel } from '../../src/dialog/events.js';
import type { Reply } from '../../src/dialog/reply.js';
import { renderNumbered } from '../../src/dialog/render.js';
import { messages } from '../../src/i18n/index.js';
import { createLogger } from '../../src/log.js';
import { notifyPerson } from '../../src/outbox/notify.js';
import { queueMessages, writeOutbox, type DeliveryQueue, type QueuedMessage, type Recipient } from '../../src/outbox/outbox.js';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix, TEST_CODE_SECRET } from '../support/db.js';

/** Polls `fn` until it returns something truthy (and doesn't throw); fails after `timeoutMs`. */
async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface RecordedSend {
  chatRef: string;
  reply: Reply;
  /** Which platform call of the reply: `photo <fileRef>` or `text`. */
  part: string;
  result: SendResult;
  /** What the text part said (the reply's text, with a note when photos were skipped). */
  text?: string;
}

/**
 * The platform boundary: a real ChannelAdapter that records every platform call. A reply goes
 * out as its photos, then its text (as on Telegram and WeChat), through the same `sendParts` the
 * real channels use. By default a call succeeds; `script(chatRef, ...results)` makes the next
 * calls to that chat return the given results (429 retry-after, blocked, error) in order, then
 * succeed again.
 */
class RecordingAdapter implements ChannelAdapter {
  readonly sends: RecordedSend[] = [];
  private readonly scripted = new Map<string, SendResult[]>();
  /** Runs as the platform is called, before it answers (what a person who replies at once would find). */
  onSend?: (chatRef: string) => Promise<void>;
  constructor(readonly channel: Channel) {}
  script(chatRef: string, ...results: SendResult[]) {
    this.scripted.set(chatRef, [...(this.scripted.get(chatRef) ?? []), ...results]);
  }
  async start() {}
  async stop() {}
  async send(chatRef: string, reply: Reply, progress?: SendProgress): Promise<SendResult> {
    await this.onSend?.(chatRef);
    const call = (part: string) => async (skipped: number) => {
      const result = this.scripted.get(chatRef)?.shift() ?? { ok: true, sentRef: `${this.channel}-${this.sends.length + 1}` };
      this.sends.push({ chatRef, reply, part, result, ...(part === 'text' ? { text: textWithSkipNote(reply, skipped) } : {}) });
      if (!result.ok) throw result;
      return part === 'text' ? result.sentRef : undefined;
    };
    const parts = [...(reply.media ?? []).map((m) => call(`photo ${m.fileRef}`)), call('text')];
    return sendParts(parts, progress, (refused) => refused as SendResult);
  }
  async fetchMedia(): Promise<MediaBytes> {
    throw new Error('no media in these tests');
  }
  to(chatRef: string) {
    return this.sends.filter((s) => s.chatRef === chatRef);
  }
  deliveredTo(chatRef: string) {
    return this.to(chatRef).filter((s) => s.result.ok);
  }
}

/** The deterministic id of an outbox row's deliver job (the registry's rule). */
const deliverId = (outboxId: number) => deliverJobFor.web.id!({ outboxId, channel: 'web' });

const text = (label: string) => `${label} ${randomBytes(4).toString('hex')}`;

describe.each(['redis', 'postgres'] as const)('delivery on the %s queue backend', (kind) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  /** The workers' own pool, sized like the app's (src/app.ts). */
  let workerDb: Database;
  let backend: QueueBackend;
  let delivery: DeliveryQueue & { close(): Promise<void> };
  let workers: { close(): Promise<void> };
  let dataDir: string;
  const adapters = new Map<Channel, RecordingAdapter>([
    ['web', new RecordingAdapter('web')],
    ['telegram', new RecordingAdapter('telegram')],
    ['wechat', new RecordingAdapter('wechat')],
  ]);
  const web = adapters.get('web')!;
  const telegram = adapters.get('telegram')!;
  const wechat = adapters.get('wechat')!;
  const results: { channel: Channel; result: string }[] = [];
  const queues = new Map<string, InstanceType<QueueBackend['classes']['Queue']>>();
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new backend.classes.Queue(name, { ...backend.connectionOptions(), defaultJobOptions } as any);
      queues.set(name, q);
    }
    return q;
  };

  let personCount = 0;
  async function newRecipient(channel: Channel): Promise<Recipient & { personId: string }> {
    const ref = `${channel}-${++personCount}-${randomBytes(3).toString('hex')}`;
    const [person] = await database.db.insert(people).values({ locale: 'zh-CN' }).returning({ id: people.id });
    const [identity] = await database.db
      .insert(channelIdentities)
      .values({ personId: person!.id, channel, userRef: ref, chatRef: `chat-${ref}` })
      .returning({ id: channelIdentities.id, chatRef: channelIdentities.chatRef });
    return { personId: person!.id, identityId: identity!.id, channel, chatRef: identity!.chatRef };
  }

  /** Writes messages to the outbox in a transaction (as commands do) and returns what to enqueue. */
  function write(to: Recipient, ...texts: string[]): Promise<QueuedMessage[]> {
    return writeReplies(to, ...texts.map((t) => ({ locale: 'zh-CN' as const, text: t })));
  }

  function writeReplies(to: Recipient, ...replies: Reply[]): Promise<QueuedMessage[]> {
    return database.db.transaction((tx) => queueMessages(tx, replies.map((reply) => ({ to, reply }))));
  }

  const withPhotos = (body: string, ...fileRefs: string[]): Reply => ({
    locale: 'zh-CN',
    text: body,
    media: fileRefs.map((fileRef) => ({ kind: 'photo' as const, fileRef })),
  });

  async function rows(ids: number[]) {
    const found = await database.db.select().from(outbox).where(inArray(outbox.id, ids)).orderBy(outbox.id);
    return found;
  }

  async function jobState(channel: Channel, jobId: string) {
    const job = await queue(deliverJobFor[channel].name).getJob(jobId);
    return job ? { state: await job.getState(), job } : undefined;
  }

  /** Waits until every given job has finished (completed or failed), so nothing is still in flight. */
  async function settled(channel: Channel, jobId: string, expected: 'completed' | 'failed' = 'completed') {
    const s = await waitFor(async () => {
      const found = await jobState(channel, jobId);
      return found && (found.state === 'completed' || found.state === 'failed') ? found : undefined;
    }, 20_000, `job ${jobId} to finish`);
    expect(s.state).toBe(expected);
    // Read it again: the copy fetched before the state check may predate its result.
    const job = await queue(deliverJobFor[channel].name).getJob(jobId);
    return job!;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    workerDb = connect(database.url, { max: 20 });
    dataDir = mkdtempSync(path.join(tmpdir(), 'linli-delivery-'));
    const prefix = uniqueQueuePrefix();
    backend = createQueueBackend(
      kind === 'redis' ? { kind: 'redis', url: TEST_REDIS_URL, prefix } : { kind: 'postgres', url: database.url, schema: prefix },
    );
    const producer = createJobs(backend);
    delivery = { ...producer.delivery, close: () => producer.close() };
    const config = loadConfig({ CODE_SECRET: TEST_CODE_SECRET, DATABASE_URL: database.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    workers = await startWorkers({
      backend,
      database: workerDb,
      adapters: new Map(adapters),
      producer,
      config,
      logger: createLogger('silent'),
      sweepEveryMs: 300,
      // Delivery's own semantics (order, parts, retries) are under test here, not the platform
      // limits (tests/integration/call-limits.test.ts): no per-call limits in the way.
      callLimits: unlimitedCalls,
      onDeliverResult: (channel, result) => void results.push({ channel, result }),
    });
  });

  afterAll(async () => {
    await workers?.close();
    if (kind === 'redis' && backend) {
      for (const name of ALL_JOBS.map((d) => d.name)) await queue(name).obliterate({ force: true });
    }
    await Promise.all([...queues.values()].map((q) => q.close()));
    await delivery?.close();
    await backend?.close();
    await workerDb?.close();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers an outbox row written in a transaction exactly once and marks it sent', async () => {
    const to = await newRecipient('web');
    const body = text('你好');
    const queued = await write(to, body);
    expect(queued).toHaveLength(1);
    const [{ outboxId }] = queued as [QueuedMessage];
    await delivery.enqueue(queued);

    const job = await settled('web', deliverId(outboxId));
    expect(job.returnvalue).toEqual({ sent: 1 });
    const [row] = await rows([outboxId]);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    expect(row!.sentAt).toBeInstanceOf(Date);
    expect(web.to(to.chatRef)).toHaveLength(1);
    expect(web.deliveredTo(to.chatRef)[0]!.reply).toEqual({ locale: 'zh-CN', text: body });
    expect(row!.sentRef).toBe((web.deliveredTo(to.chatRef)[0]!.result as { sentRef: string }).sentRef);
  });

  it('writes nothing to the outbox when the transaction rolls back', async () => {
    const to = await newRecipient('web');
    await expect(
      database.db.transaction(async (tx) => {
        await queueMessages(tx, [{ to, reply: { locale: 'zh-CN', text: 'never' } }]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await database.db.select().from(outbox).where(eq(outbox.identityId, to.identityId))).toEqual([]);
  });

  it('sends one chat its messages in order, each once', async () => {
    const to = await newRecipient('web');
    const bodies = [1, 2, 3, 4, 5].map((n) => text(`msg${n}`));
    const queued = await write(to, ...bodies);
    await delivery.enqueue(queued);
    for (const q of queued) await settled('web', deliverId(q.outboxId));
    expect(web.to(to.chatRef).map((s) => s.reply.text)).toEqual(bodies);
    expect((await rows(queued.map((q) => q.outboxId))).map((r) => r.status)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
  });

  it('sends once when the same outbox id is enqueued twice', async () => {
    const to = await newRecipient('web');
    const queued = await write(to, text('dup'));
    const [{ outboxId }] = queued as [QueuedMessage];
    await delivery.enqueue([...queued, ...queued]);
    await delivery.enqueue(queued);
    await settled('web', deliverId(outboxId));
    // Same id after completion: still a no-op (the completed job is kept).
    await delivery.enqueue(queued);
    // A duplicate job under another id (e.g. re-driven by hand) finds the row sent and sends nothing.
    await queue(JOBS.deliverWeb.name).add('deliver', { outboxId, channel: 'web' }, { jobId: `again-${outboxId}` });
    const again = await settled('web', `again-${outboxId}`);
    expect(again.returnvalue).toEqual({ sent: 0 });
    expect(web.to(to.chatRef)).toHaveLength(1);
    expect((await rows([outboxId]))[0]).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('sends once when two jobs for the same row run at the same time', async () => {
    const to = await newRecipient('web');
    const queued = await write(to, text('race'));
    const [{ outboxId }] = queued as [QueuedMessage];
    await queue(JOBS.deliverWeb.name).addBulk(
      ['a', 'b', 'c'].map((k) => ({ name: 'deliver', data: { outboxId, channel: 'web' }, opts: { jobId: `race-${k}-${outboxId}` } })),
    );
    const done = await Promise.all(['a', 'b', 'c'].map((k) => settled('web', `race-${k}-${outboxId}`)));
    expect(done.map((j) => (j.returnvalue as { sent: number }).sent).sort()).toEqual([0, 0, 1]);
    expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('retries a rate-limited send later and delivers it once', async () => {
    const to = await newRecipient('telegram');
    telegram.script(to.chatRef, { ok: false, retryAfterMs: 600 });
    const queued = await write(to, text('slow down'));
    const [{ outboxId }] = queued as [QueuedMessage];
    await delivery.enqueue(queued);

    const job = await settled('telegram', deliverId(outboxId));
    expect(job.returnvalue).toEqual({ sent: 1 });
    expect(telegram.to(to.chatRef).map((s) => s.result.ok)).toEqual([false, true]);
    expect(telegram.deliveredTo(to.chatRef)).toHaveLength(1);
    // The 429 did not count as a failed attempt of the row.
    expect((await rows([outboxId]))[0]).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    expect(results.filter((r) => r.channel === 'telegram').map((r) => r.result)).toEqual(['retry_after', 'sent']);
  });

  it('retries a failed send with backoff and records the error', async () => {
    const to = await newRecipient('web');
    web.script(to.chatRef, { ok: false, error: 'ECONNRESET' });
    const queued = await write(to, text('flaky'));
    const [{ outboxId }] = queued as [QueuedMessage];
    await delivery.enqueue(queued);
    await settled('web', deliverId(outboxId));
    expect(web.to(to.chatRef).map((s) => s.result.ok)).toEqual([false, true]);
    expect((await rows([outboxId]))[0]).toMatchObject({ status: 'sent', attempts: 2, lastError: 'ECONNRESET' });
  });

  it('resumes a reply sent in parts after the part that was rate-limited, sending each part once', async () => {
    const to = await newRecipient('telegram');
    telegram.script(to.chatRef, { ok: true }, { ok: false, retryAfterMs: 60_000 });
    const [{ outboxId }] = (await writeReplies(to, withPhotos(text('fixed'), 'before.jpg', 'after.jpg'))) as [QueuedMessage];
    await delivery.enqueue([{ outboxId, channel: 'telegram' }]);

    // The second photo got the 429: while the job waits, the first is recorded as sent.
    const delayed = await waitFor(async () => {
      const found = await jobState('telegram', deliverId(outboxId));
      return found?.state === 'delayed' ? found.job : undefined;
    }, 20_000, 'the job to wait for retry_after');
    expect((await rows([outboxId]))[0]).toMatchObject({ status: 'pending', partsSent: 1, attempts: 0, sentAt: null });
    await delayed.promote();

    const job = await settled('telegram', deliverId(outboxId));
    expect(job.returnvalue).toEqual({ sent: 1 });
    const calls = telegram.to(to.chatRef);
    expect(calls.map((s) => [s.part, s.result.ok])).toEqual([
      ['photo before.jpg', true],
      ['photo after.jpg', false],
      ['photo after.jpg', true],
      ['text', true],
    ]);
    const textRef = (calls[3]!.result as { sentRef: string }).sentRef;
    expect((await rows([outboxId]))[0]).toMatchObject({ status: 'sent', partsSent: 2, attempts: 1, lastError: null, sentRef: textRef });
  });

  it('keeps the photos sent when the text fails and the job retries with backoff', async () => {
    const to = await newRecipient('wechat');
    wechat.script(to.chatRef, { ok: true }, { ok: false, error: 'ECONNRESET' });
    const [{ outboxId }] = (await writeReplies(to, withPhotos(text('resolved'), 'site.jpg'))) as [QueuedMessage];
    await delivery.enqueue([{ outboxId, channel: 'wechat' }]);

    await settled('wechat', deliverId(outboxId));
    expect(wechat.to(to.chatRef).map((s) => [s.part, s.result.ok])).toEqual([
      ['photo site.jpg', true],
      ['text', false],
      ['text', true],
    ]);
    expect((await rows([outboxId]))[0]).toMatchObject({ status: 'sent', partsSent: 1, attempts: 2, lastError: 'ECONNRESET' });
  });

  it('skips a photo the platform refuses for good, says so in the text, and holds nothing back', async () => {
    const to = await newRecipient('telegram');
    telegram.script(to.chatRef, { ok: false, partRefused: true, reason: '400 Bad Request: PHOTO_INVALID_DIMENSIONS' });
    const body = text('panorama');
    const queued = await writeReplies(to, withPhotos(body, 'wide.jpg'), { locale: 'zh-CN', text: text('next') });
    await delivery.enqueue(queued);
    for (const q of queued) await settled('telegram', deliverJobFor.telegram.id!({ outboxId: q.outboxId, channel: 'telegram' }));
    const calls = telegram.to(to.chatRef);
    expect(calls.map((s) => [s.part, s.result.ok])).toEqual([
      ['photo wide.jpg', false],
      ['text', true],
      ['text', true],
    ]);
    expect(calls[1]!.text).toBe(`${body}\n\n${messages('zh-CN').common.photosSkipped({ n: 1 })}`);
    expect((await rows(queued.map((q) => q.outboxId))).map((r) => r.status)).toEqual(['sent', 'sent']);
  });

  it('sends the rows behind a failing one at once; the failing one follows on its retry', async () => {
    const to = await newRecipient('web');
    web.script(to.chatRef, { ok: false, error: 'ECONNRESET' });
    const [first, second] = [text('first'), text('second')];
    const queued = await write(to, first, second);
    // Both rows in one job's batch: the first fails, the second must still go out.
    await delivery.enqueue([queued[1]!]);
    await waitFor(async () => (await rows([queued[1]!.outboxId]))[0]!.status === 'sent', 20_000, 'the second row to be sent');
    await delivery.enqueue([queued[0]!]);
    await waitFor(async () => (await rows([queued[0]!.outboxId]))[0]!.status === 'sent', 20_000, 'the first row on its retry');
    expect(web.to(to.chatRef).map((s) => [s.reply.text, s.result.ok])).toEqual([
      [first, false],
      [second, true],
      [first, true],
    ]);
  });

  it('sends a reply that is one message without recording parts', async () => {
    const to = await newRecipient('web');
    const [{ outboxId }] = (await write(to, text('short'))) as [QueuedMessage];
    await delivery.enqueue([{ outboxId, channel: 'web' }]);
    await settled('web', deliverId(outboxId));
    expect((await rows([outboxId]))[0]).toMatchObject({ status: 'sent', partsSent: 0, attempts: 1 });
  });

  it('marks the identity blocked, stops its pending messages and does not retry', async () => {
    const to = await newRecipient('web');
    web.script(to.chatRef, { ok: false, blocked: true, reason: 'Forbidden: bot was blocked by the user' });
    const [first, second] = [text('first'), text('second')];
    const queued = await write(to, first, second);
    await delivery.enqueue(queued);
    for (const q of queued) await settled('web', deliverId(q.outboxId));

    expect(web.to(to.chatRef)).toHaveLength(1);
    expect(web.deliveredTo(to.chatRef)).toHaveLength(0);
    for (const row of await rows(queued.map((q) => q.outboxId))) {
      expect(row).toMatchObject({ status: 'blocked', lastError: 'Forbidden: bot was blocked by the user', sentAt: null });
    }
    const [identity] = await database.db.select().from(channelIdentities).where(eq(channelIdentities.id, to.identityId));
    expect(identity!.blockedAt).toBeInstanceOf(Date);
    const [person] = await database.db.select().from(people).where(eq(people.id, to.personId));
    expect(person!.erasedAt).toBeNull();
    // Nothing more is queued for the blocked chat.
    const more = await database.db.transaction((tx) => notifyPerson(tx, to.personId, () => ({ text: 'anyone there?' })));
    expect(more).toEqual([]);
    expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('delivers a pending row whose job was never enqueued, via the outbox sweep', async () => {
    const to = await newRecipient('web');
    // The process died between commit and enqueue: the row exists, no job does.
    const queued = await write(to, text('lost'));
    const [{ outboxId }] = queued as [QueuedMessage];
    // Older than the sweep's grace period, as such a row would be by the time anyone looks.
    await database.db.update(outbox).set({ createdAt: sql`now() - interval '1 minute'` }).where(eq(outbox.id, outboxId));

    await waitFor(async () => (await rows([outboxId]))[0]?.status === 'sent', 20_000, 'the swept row to be sent');
    await settled('web', deliverId(outboxId));
    expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('delivers a row whose job was lost with the queue, via the outbox sweep', async () => {
    const to = await newRecipient('web');
    const q = queue(JOBS.deliverWeb.name);
    await q.pause();
    const queued = await write(to, text('obliterated'));
    const [{ outboxId }] = queued as [QueuedMessage];
    await delivery.enqueue(queued);
    expect(await q.getJob(deliverId(outboxId))).toBeTruthy();
    // The queue's data is lost (Redis flushed / restarted without persistence).
    await q.obliterate({ force: true });
    expect(await q.getJob(deliverId(outboxId))).toBeFalsy();
    await database.db.update(outbox).set({ createdAt: sql`now() - interval '1 minute'` }).where(eq(outbox.id, outboxId));
    await q.resume();

    await waitFor(async () => (await rows([outboxId]))[0]?.status === 'sent', 20_000, 'the swept row to be sent');
    await settled('web', deliverId(outboxId));
    expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('delivers a row whose job ended without sending it (failed for another reason), via the outbox sweep', async () => {
    const to = await newRecipient('web');
    const [{ outboxId }] = (await write(to, text('revived'))) as [QueuedMessage];
    // A job under the row's own id that fails without sending (here: a payload it refuses).
    await queue(JOBS.deliverWeb.name).add('deliver', { outboxId: String(outboxId), channel: 'web' }, { jobId: deliverId(outboxId) });
    await settled('web', deliverId(outboxId), 'failed');
    expect((await rows([outboxId]))[0]!.status).toBe('pending');
    await database.db.update(outbox).set({ createdAt: sql`now() - interval '1 minute'` }).where(eq(outbox.id, outboxId));

    await waitFor(async () => (await rows([outboxId]))[0]?.status === 'sent', 20_000, 'the revived row to be sent');
    expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('sweeps only pending rows older than the grace period', async () => {
    const to = await newRecipient('web');
    const [fresh] = (await write(to, text('fresh'))) as [QueuedMessage];
    const seen: QueuedMessage[] = [];
    const recorder: DeliveryQueue = { enqueue: async (m) => void seen.push(...m) };
    await sweepOutbox(database, recorder, Date.now());
    expect(seen.map((m) => m.outboxId)).not.toContain(fresh.outboxId);
    await sweepOutbox(database, recorder, Date.now() + 60_000);
    expect(seen.filter((m) => m.outboxId === fresh.outboxId)).toEqual([{ outboxId: fresh.outboxId, channel: 'web' }]);
    // Every row it handed over is pending; sent and blocked rows are left alone.
    const handed = await rows(seen.map((m) => m.outboxId));
    expect(handed.every((r) => r.status === 'pending')).toBe(true);
    // Clean up: let the real queue deliver it.
    await delivery.enqueue([fresh]);
    await settled('web', deliverId(fresh.outboxId));
    expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('rejects a malformed job payload and changes nothing', async () => {
    const to = await newRecipient('web');
    const [{ outboxId }] = (await write(to, text('untouched'))) as [QueuedMessage];
    const before = await rows([outboxId]);
    const bad: Record<string, unknown>[] = [
      {},
      { outboxId: String(outboxId), channel: 'web' },
      { outboxId, channel: 'fax' },
      { outboxId: -outboxId, channel: 'web' },
      { outboxId: outboxId + 0.5, channel: 'web' },
      { channel: 'web' },
    ];
    await queue(JOBS.deliverWeb.name).addBulk(bad.map((data, i) => ({ name: 'deliver', data, opts: { jobId: `bad-${i}-${outboxId}` } })));
    for (let i = 0; i < bad.length; i++) {
      const job = await settled('web', `bad-${i}-${outboxId}`, 'failed');
      expect(job.failedReason).toBe('invalid deliver-web payload');
      // Unrecoverable: tried once, not retried with backoff.
      expect(job.attemptsMade).toBe(1);
    }
    expect(web.to(to.chatRef)).toHaveLength(0);
    expect(await rows([outboxId])).toEqual(before);
    const [identity] = await database.db.select().from(channelIdentities).where(eq(channelIdentities.id, to.identityId));
    expect(identity!.blockedAt).toBeNull();

    // The row is still deliverable by a proper job.
    await delivery.enqueue([{ outboxId, channel: 'web' }]);
    await settled('web', deliverId(outboxId));
    expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('delivers a broadcast to many people on every channel, each message once', async () => {
    const recipients = await Promise.all(
      (['web', 'telegram', 'wechat'] as const).flatMap((channel) => Array.from({ length: 12 }, () => newRecipient(channel))),
    );
    const queued = (await Promise.all(recipients.map((to) => write(to, text(`broadcast ${to.channel}`))))).flat();
    await delivery.enqueue(queued);
    await waitFor(async () => (await rows(queued.map((q) => q.outboxId))).every((r) => r.status === 'sent'), 30_000, 'the broadcast to be sent');
    for (const to of recipients) {
      expect(adapters.get(to.channel)!.to(to.chatRef)).toHaveLength(1);
    }
  });

  it('writes a fan-out page in one statement and skips rows whose dedupe key exists', async () => {
    const people3 = await Promise.all(Array.from({ length: 3 }, () => newRecipient('web')));
    const key = randomBytes(4).toString('hex');
    const page = people3.map((to, i) => ({ to, reply: { locale: 'zh-CN' as const, text: text(`notice ${i}`) }, priority: 'broadcast' as const, dedupeKey: `t:${key}:${i}` }));
    const first = await writeOutbox(database.db, page.slice(0, 2));
    expect(first.map((m) => m.priority)).toEqual(['broadcast', 'broadcast']);
    // The retried page: only the row not written before comes back.
    const again = await writeOutbox(database.db, page);
    expect(again).toHaveLength(1);
    expect((await rows(again.map((m) => m.outboxId)))[0]!.chatRef).toBe(people3[2]!.chatRef);
    await delivery.enqueue([...first, ...again]);
    await waitFor(async () => (await rows([...first, ...again].map((q) => q.outboxId))).every((r) => r.status === 'sent'), 20_000, 'the page to be sent');
    for (const to of people3) expect(web.to(to.chatRef)).toHaveLength(1);
  });

  it('holds a row back until its not-before time, and a reply does not take a held or broadcast row along', async () => {
    const to = await newRecipient('web');
    const notBefore = new Date(Date.now() + 1500);
    const [held] = await writeOutbox(database.db, [{ to, reply: { locale: 'zh-CN', text: text('scheduled') }, notBefore }]);
    const [bulk] = await writeOutbox(database.db, [{ to, reply: { locale: 'zh-CN', text: text('bulk') }, priority: 'broadcast', notBefore }]);
    const [reply] = (await write(to, text('reply'))) as [QueuedMessage];
    await delivery.enqueue([reply]);
    await settled('web', deliverId(reply.outboxId));
    expect(web.to(to.chatRef).map((s) => s.reply.text)).toEqual([expect.stringMatching(/^reply/)]);
    // The sweep leaves a row to its delayed job until it is due, then hands it over like any other.
    const [far] = await writeOutbox(database.db, [{ to, reply: { locale: 'zh-CN', text: text('next week') }, notBefore: new Date(Date.now() + 7 * 86_400_000) }]);
    const seen: QueuedMessage[] = [];
    await sweepOutbox(database, { enqueue: async (m) => void seen.push(...m) }, Date.now() + SWEEP_GRACE_MS + 2000);
    expect(seen.map((m) => m.outboxId)).not.toContain(far!.outboxId);
    expect(seen.find((m) => m.outboxId === held!.outboxId)).toEqual({ ...held, notBefore });
    await delivery.enqueue([held!, bulk!]);
    await waitFor(async () => (await rows([held!.outboxId, bulk!.outboxId])).every((r) => r.status === 'sent'), 20_000, 'the held rows to be sent');
    const sentAt = (await rows([held!.outboxId, bulk!.outboxId])).map((r) => r.sentAt!.getTime());
    for (const at of sentAt) expect(at).toBeGreaterThanOrEqual(notBefore.getTime());
    expect(web.to(to.chatRef)).toHaveLength(3);
  });

  it('records a message\'s choices as the ones shown when it is delivered, and a broadcast\'s only for an idle chat', async () => {
    const busy = await newRecipient('web');
    const idle = await newRecipient('web');
    const step = [{ id: 'colour.red', label: 'Red' }];
    const poll = [{ id: 'nr:1', label: '收到' }];
    await database.db.insert(dialogStates).values({ identityId: busy.identityId, flow: 'form', step: 'colour', choices: step });
    const card = [{ id: 'ca:1', label: 'Card' }];
    const [queuedCard] = await writeOutbox(database.db, [{ to: busy, reply: { locale: 'zh-CN', text: text('card'), choices: card } }]);
    const stateOf = async (to: Recipient) => (await database.db.select().from(dialogStates).where(eq(dialogStates.identityId, to.identityId)))[0];
    // Queued, not delivered: the step's choices still answer a bare number.
    expect((await stateOf(busy))!.choices).toEqual(step);
    // Recorded before the platform has it: a person answering "1" the moment it arrives answers the card.
    const atSend: unknown[] = [];
    adapters.get('web')!.onSend = async (chatRef) => void (chatRef === busy.chatRef && atSend.push((await stateOf(busy))!.choices));
    await delivery.enqueue([queuedCard!]);
    await settled('web', deliverId(queuedCard!.outboxId));
    adapters.get('web')!.onSend = undefined;
    expect(atSend).toEqual([card]);
    expect((await stateOf(busy))!.choices).toEqual(card);
    // A broadcast: never takes the number keys from someone in a flow; an idle chat gets them.
    await database.db.update(dialogStates).set({ choices: step }).where(eq(dialogStates.identityId, busy.identityId));
    const page = await writeOutbox(database.db, [busy, idle].map((to) => ({ to, reply: { locale: 'zh-CN' as const, text: text('notice'), choices: poll }, priority: 'broadcast' as const })));
    await delivery.enqueue(page);
    for (const m of page) await settled('web', deliverId(m.outboxId));
    expect(await stateOf(busy)).toMatchObject({ flow: 'form', step: 'colour', choices: step });
    expect(await stateOf(idle)).toMatchObject({ flow: 'menu', step: 'idle', choices: poll });
    // 应急 jumps the queue but is a broadcast too. Its numbered 收到 (WeChat) is numbered on after
    // what each chat answers now, so the flow's "1" and the card's "1" stay theirs; a chat with
    // no room left (20 choices) or at a free-text step gets the plain text, without choices.
    await database.db.update(dialogStates).set({ choices: card }).where(eq(dialogStates.identityId, idle.identityId));
    const full = await newRecipient('web');
    const twenty = Array.from({ length: 20 }, (_, i) => ({ id: `menu.${i}`, label: `Entry ${i}` }));
    await database.db.insert(dialogStates).values({ identityId: full.identityId, flow: 'menu', step: 'idle', choices: twenty });
    const typing = await newRecipient('web');
    await database.db.insert(dialogStates).values({ identityId: typing.identityId, flow: 'form', step: 'hours', choices: [] });
    const [gas, typed] = [text('gas leak'), text('gas leak, type 收到')];
    const urgent = await writeOutbox(
      database.db,
      [busy, idle, full, typing].map((to) => ({ to, reply: { locale: 'zh-CN' as const, text: gas, choices: poll, appendChoices: { plainText: typed } }, priority: 'emergency' as const })),
    );
    await delivery.enqueue(urgent);
    for (const m of urgent) await settled('web', deliverId(m.outboxId));
    expect(await stateOf(busy)).toMatchObject({ flow: 'form', step: 'colour', choices: [...step, ...poll] });
    expect(await stateOf(idle)).toMatchObject({ flow: 'menu', step: 'idle', choices: [...card, ...poll] });
    expect((await stateOf(full))!.choices).toEqual(twenty);
    const sent = (to: Recipient) => adapters.get('web')!.sends.filter((s) => s.chatRef === to.chatRef && s.result.ok).at(-1)!.reply;
    expect(sent(busy)).toMatchObject({ text: gas, choices: poll, numberFrom: 2 });
    expect(sent(idle)).toMatchObject({ text: gas, choices: poll, numberFrom: 2 });
    expect(sent(full)).toMatchObject({ text: typed });
    expect(sent(full).choices).toBeUndefined();
    // A step asking for free text (hours, a room number): "2" must stay text there.
    expect((await stateOf(typing))!.choices).toEqual([]);
    expect(sent(typing)).toMatchObject({ text: typed });
    expect(sent(typing).choices).toBeUndefined();
    expect(sent(busy)).not.toHaveProperty('appendChoices');
    expect(renderNumbered(sent(busy))).toContain('\n2. 收到\n');
  });

  it('never sent the same message twice', () => {
    const delivered = [...adapters.values()].flatMap((a) => a.sends.filter((s) => s.result.ok).map((s) => `${s.chatRef} ${s.part} ${s.reply.text}`));
    expect(delivered.length).toBeGreaterThan(0);
    expect(new Set(delivered).size).toBe(delivered.length);
  });
});
