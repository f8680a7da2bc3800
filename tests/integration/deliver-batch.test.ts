import { randomBytes } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapter, SendResult } from '../../bots/channel.js';
import { channelIdentities, outbox, people } from '../../db/schema/index.js';
import { companionsFor, createDeliverProcessor, DELIVER_JOB_PRIORITY } from '../../jobs/deliver.js';
import type { Reply } from '../../src/dialog/reply.js';
import type { CallLimits, CallPermit } from '../../src/limits/calls.js';
import { createLogger } from '../../src/log.js';
import { deliverLockKey, writeOutbox, type QueuedMessage, type Recipient } from '../../src/outbox/outbox.js';
import { createTestDatabase } from '../support/db.js';

/** The platform boundary: records every send, each accepted (a web chat's send is a row update anyway). */
class RecordingAdapter implements ChannelAdapter {
  readonly channel = 'web' as const;
  readonly sends: { chatRef: string; text: string }[] = [];
  /** Chats whose next send the platform refuses with 429 and this retry_after (ms). */
  readonly tooMany = new Map<string, number>();
  async start() {}
  async stop() {}
  async send(chatRef: string, reply: Reply, progress?: { beforePart?(): Promise<void> }): Promise<SendResult> {
    await progress?.beforePart?.();
    const wait = this.tooMany.get(chatRef);
    if (wait !== undefined) {
      this.tooMany.delete(chatRef);
      return { ok: false, retryAfterMs: wait };
    }
    this.sends.push({ chatRef, text: reply.text });
    return { ok: true, sentRef: `s${this.sends.length}` };
  }
  async fetchMedia(): Promise<never> {
    throw new Error('no media here');
  }
}

/** Call limits that refuse the chats in `refuse` (their own limit) or, with `global`, every call. */
function refusing(refuse: Set<string>, global = { on: false }): CallLimits {
  return {
    async take(_channel, chatRef): Promise<CallPermit> {
      if (global.on) return { ok: false, waitMs: 700, scope: 'global' };
      return refuse.has(chatRef) ? { ok: false, waitMs: 900, scope: 'chat' } : { ok: true };
    },
  };
}

const job = (outboxId: number, priority: number = DELIVER_JOB_PRIORITY.broadcast) => {
  const moved: number[] = [];
  const j = { id: `out-${outboxId}`, data: { outboxId, channel: 'web' }, attemptsMade: 0, timestamp: Date.now(), opts: { attempts: 8, priority }, moveToDelayed: async (at: number) => void moved.push(at) };
  return { job: j as unknown as Job, moved };
};

describe('a broadcast delivery takes other chats along (群发搭车)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function recipient(): Promise<Recipient> {
    const ref = `web-${randomBytes(4).toString('hex')}`;
    const [person] = await database.db.insert(people).values({ locale: 'zh-CN' }).returning({ id: people.id });
    const [identity] = await database.db.insert(channelIdentities).values({ personId: person!.id, channel: 'web', userRef: ref, chatRef: `chat-${ref}` }).returning();
    return { identityId: identity!.id, channel: 'web', chatRef: identity!.chatRef };
  }
  async function broadcastTo(to: Recipient, label: string): Promise<QueuedMessage> {
    const [m] = await writeOutbox(database.db, [{ to, reply: { locale: 'zh-CN', text: label }, priority: 'broadcast' }]);
    return m!;
  }
  const statusOf = async (ids: number[]) =>
    Object.fromEntries((await database.db.select({ id: outbox.id, status: outbox.status }).from(outbox).where(inArray(outbox.id, ids))).map((r) => [r.id, r.status]));

  it('sends the next broadcast row of other chats in the same job, each once; never one behind an earlier row of its chat, nor a chat another delivery holds', async () => {
    const [a, b, c, d, e, f, g] = await Promise.all(Array.from({ length: 7 }, () => recipient()));
    const a1 = await broadcastTo(a!, 'A 停水');
    const b1 = await broadcastTo(b!, 'B 停水');
    const c1 = await broadcastTo(c!, 'C 停水');
    // D has a reply waiting ahead of its broadcast: only D's own job may send the two, in order.
    const [d0] = await writeOutbox(database.db, [{ to: d!, reply: { locale: 'zh-CN', text: 'D 回复' } }]);
    const d1 = await broadcastTo(d!, 'D 停水');
    const e1 = await broadcastTo(e!, 'E 停水');
    const f1 = await broadcastTo(f!, 'F 停水');
    const g1 = await broadcastTo(g!, 'G 停水');
    const adapter = new RecordingAdapter();
    const deliver = createDeliverProcessor({ database, adapters: new Map([['web', adapter]]), logger: createLogger('silent'), companions: { web: 3 } });

    // Another delivery holds E's chat while the batch claims: E is skipped, not waited for.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = database.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${deliverLockKey(e!.identityId)}))`);
      locked();
      await held;
    });
    await isLocked;
    expect(await deliver(job(a1.outboxId).job)).toEqual({ sent: 4 });
    release();
    await holder;

    expect(adapter.sends.map((s) => s.text).sort()).toEqual(['A 停水', 'B 停水', 'C 停水', 'F 停水']);
    expect(await statusOf([a1, b1, c1, d0!, d1, e1, f1, g1].map((m) => m.outboxId))).toEqual({
      [a1.outboxId]: 'sent',
      [b1.outboxId]: 'sent',
      [c1.outboxId]: 'sent',
      [d0!.outboxId]: 'pending',
      [d1.outboxId]: 'pending',
      [e1.outboxId]: 'pending',
      [f1.outboxId]: 'sent',
      [g1.outboxId]: 'pending',
    });
    const [marked] = await database.db.select().from(outbox).where(inArray(outbox.id, [b1.outboxId]));
    expect(marked).toMatchObject({ status: 'sent', attempts: 1, sentRef: expect.stringMatching(/^s\d+$/) });

    // B's own job finds its row sent; as a broadcast's job it leads, and sends what waits: E
    // (free now) and G, never D's broadcast behind D's reply.
    expect(await deliver(job(b1.outboxId).job)).toEqual({ sent: 2 });
    expect(adapter.sends.slice(4).map((s) => s.text).sort()).toEqual(['E 停水', 'G 停水']);
    // D's own job sends D's reply, then its broadcast.
    expect(await deliver(job(d1.outboxId).job)).toEqual({ sent: 2 });
    expect(adapter.sends.filter((s) => s.chatRef === d!.chatRef).map((s) => s.text)).toEqual(['D 回复', 'D 停水']);
    const texts = adapter.sends.map((s) => s.text);
    expect(texts).toHaveLength(8);
    expect(new Set(texts).size).toBe(8);
    // Rows of the jobs that follow are all sent: they end at once.
    for (const m of [c1, e1, f1, g1]) expect(await deliver(job(m.outboxId).job)).toEqual({ sent: 0 });
    expect(adapter.sends).toHaveLength(8);
  });

  it('leaves a companion its own limit refuses for its own job, and puts the job back when the channel must wait', async () => {
    const [a, b, c] = await Promise.all(Array.from({ length: 3 }, () => recipient()));
    const a1 = await broadcastTo(a!, 'A 通知');
    const b1 = await broadcastTo(b!, 'B 通知');
    const c1 = await broadcastTo(c!, 'C 通知');
    const adapter = new RecordingAdapter();
    const global = { on: false };
    const limits = refusing(new Set([b!.chatRef]), global);
    const queued: QueuedMessage[] = [];
    const delivery = { enqueue: async (m: QueuedMessage[]) => void queued.push(...m) };
    const deliver = createDeliverProcessor({ database, adapters: new Map([['web', adapter]]), logger: createLogger('silent'), companions: { web: 5 }, callLimits: limits, delivery });
    expect(await deliver(job(a1.outboxId).job)).toEqual({ sent: 2 });
    expect(adapter.sends.map((s) => s.text).sort()).toEqual(['A 通知', 'C 通知']);
    expect((await statusOf([b1.outboxId]))[b1.outboxId]).toBe('pending');
    // B may have no job of its own (one job per batch's worth of rows): the batch queues one.
    expect(queued.map((m) => [m.outboxId, m.priority])).toEqual([[b1.outboxId, 'broadcast']]);

    // The channel over its global limit: B's job goes back as a delayed job, nothing sent, no attempt spent.
    global.on = true;
    const bJob = job(b1.outboxId);
    await expect(deliver(bJob.job)).rejects.toBeInstanceOf(DelayedError);
    expect(bJob.moved).toHaveLength(1);
    expect(bJob.moved[0]!).toBeGreaterThan(Date.now() + 500);
    const [row] = await database.db.select().from(outbox).where(inArray(outbox.id, [b1.outboxId]));
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect(adapter.sends).toHaveLength(2);
    // Once both limits allow it, B's own job sends it, once.
    global.on = false;
    const open = createDeliverProcessor({ database, adapters: new Map([['web', adapter]]), logger: createLogger('silent'), companions: { web: 5 } });
    expect(await open(job(b1.outboxId).job)).toEqual({ sent: 1 });
    expect(adapter.sends.map((s) => s.text).sort()).toEqual(['A 通知', 'B 通知', 'C 通知']);
  });

  it('holds a companion the platform refused with 429 back until retry_after, from every batch and its own job', async () => {
    const [a, b, c] = await Promise.all(Array.from({ length: 3 }, () => recipient()));
    const a1 = await broadcastTo(a!, 'A 通告');
    const b1 = await broadcastTo(b!, 'B 通告');
    const adapter = new RecordingAdapter();
    adapter.tooMany.set(b!.chatRef, 5000);
    const deliver = createDeliverProcessor({ database, adapters: new Map([['web', adapter]]), logger: createLogger('silent'), companions: { web: 5 } });
    const before = Date.now();
    expect(await deliver(job(a1.outboxId).job)).toEqual({ sent: 1 });
    const [held] = await database.db.select().from(outbox).where(inArray(outbox.id, [b1.outboxId]));
    expect(held).toMatchObject({ status: 'pending', attempts: 0 });
    expect(held!.notBefore!.getTime()).toBeGreaterThanOrEqual(before + 4900);
    // Another broadcast's batch leaves B alone, and B's own job sleeps until then.
    const c1 = await broadcastTo(c!, 'C 通告');
    expect(await deliver(job(c1.outboxId).job)).toEqual({ sent: 1 });
    const bJob = job(b1.outboxId);
    await expect(deliver(bJob.job)).rejects.toBeInstanceOf(DelayedError);
    expect(bJob.moved[0]!).toBe(held!.notBefore!.getTime());
    expect(adapter.sends.map((s) => s.text).sort()).toEqual(['A 通告', 'C 通告']);
    // Out of the way of the next test, which shares the database.
    await database.db.update(outbox).set({ status: 'sent' }).where(inArray(outbox.id, [b1.outboxId]));
  });

  it('a batch that claimed all it could take queues the next lead, so a broadcast with one job per batch carries on', async () => {
    const chats = await Promise.all(Array.from({ length: 5 }, () => recipient()));
    const rows: QueuedMessage[] = [];
    for (const [i, r] of chats.entries()) rows.push(await broadcastTo(r, `第${i}户 通知`));
    const adapter = new RecordingAdapter();
    const queued: QueuedMessage[] = [];
    const delivery = { enqueue: async (m: QueuedMessage[]) => void queued.push(...m) };
    const deliver = createDeliverProcessor({ database, adapters: new Map([['web', adapter]]), logger: createLogger('silent'), companions: { web: 2 }, delivery });
    expect(await deliver(job(rows[0]!.outboxId).job)).toEqual({ sent: 3 });
    expect(queued.map((m) => m.outboxId)).toEqual([rows[3]!.outboxId]);
    // The next lead takes the last two; nothing is left, so nothing more is queued.
    expect(await deliver(job(rows[3]!.outboxId).job)).toEqual({ sent: 2 });
    expect(queued).toHaveLength(1);
    expect(new Set(adapter.sends.map((s) => s.text)).size).toBe(5);
    expect(Object.values(await statusOf(rows.map((m) => m.outboxId)))).toEqual(Array(5).fill('sent'));
  });

  it('takes nothing along for a reply, nor at a rate one job per message keeps up with', async () => {
    const [a, b] = await Promise.all(Array.from({ length: 2 }, () => recipient()));
    const [reply] = await writeOutbox(database.db, [{ to: a!, reply: { locale: 'zh-CN', text: 'A 回复' } }]);
    const b1 = await broadcastTo(b!, 'B 通知');
    const adapter = new RecordingAdapter();
    const deliver = createDeliverProcessor({ database, adapters: new Map([['web', adapter]]), logger: createLogger('silent'), companions: { web: 5 } });
    expect(await deliver(job(reply!.outboxId, DELIVER_JOB_PRIORITY.conversation).job)).toEqual({ sent: 1 });
    expect((await statusOf([b1.outboxId]))[b1.outboxId]).toBe('pending');
    expect(await deliver(job(b1.outboxId).job)).toEqual({ sent: 1 });

    expect(companionsFor({ telegram: { globalPerSec: 30 }, wechat: { globalPerSec: 5 }, web: { globalPerSec: 1000 } })).toEqual({ telegram: 0, wechat: 0, web: 31 });
    expect(companionsFor({ telegram: { globalPerSec: 100 }, wechat: { globalPerSec: 99 }, web: { globalPerSec: 500 } })).toEqual({ telegram: 9, wechat: 0, web: 31 });
  });
});
