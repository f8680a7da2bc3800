import { and, count, eq, like, ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox } from '../../db/schema/index.js';
import { messages } from '../../src/i18n/index.js';
import { report } from '../e2e/case-script.js';
import { TelegramDriver } from '../support/telegram-driver.js';
import { createBroadcastRig, type BroadcastRig } from './broadcast-rig.js';
import { flushPrefix, tcpPortsOf, waitFor } from './support.js';

/**
 * Fault: a notice to 10,000 Telegram residents against the Telegram emulator enforcing a global
 * limit (500/s here, so it runs in seconds; the benchmark runs at 30/s) and 1/s per chat,
 * answering 429 with retry_after beyond them. Two worker processes deliver under linli's shared
 * call limits. Every resident gets exactly one copy (counted per chat in the emulator): in the
 * plain run, when a worker is `kill -9`ed mid-broadcast, and when Redis (this deployment's
 * prefix) is flushed mid-broadcast. While the first broadcast drains, a resident reports a case
 * and each reply comes within seconds (replies go ahead of the broadcast), then the emulator
 * tightens its global limit for a few seconds: every call it refuses with 429 is tried again no
 * sooner than its retry_after, and still nobody misses or doubles a copy.
 */

const RESIDENTS = Number(process.env.FAULT_BROADCAST_RESIDENTS ?? 10_000);
const LIMITS = { globalPerSec: 500, perChatPerSec: 1, perGroupPerMin: 20 };
/** How long one reply may take while the broadcast drains ("within seconds"). */
const REPLY_WITHIN_MS = 10_000;
/** Sweeps as in production but quicker: the outbox and notice sweeps are the safety net after a flush. */
const WORKER_ENV = { OUTBOX_SWEEP_MS: '5000', CASE_SWEEP_EVERY_MS: '3000', TIMER_SWEEP_EVERY_MS: '3000' };
/** A bound for a failure to show: 10,000 at 500/s is 20 s, but a loaded 2-core machine delivers far less. */
const DRAIN_WITHIN_MS = 900_000;
const zh = messages('zh-CN');

describe(`a notice broadcast to ${RESIDENTS} Telegram residents at the platform's limit`, () => {
  let rig: BroadcastRig;

  beforeAll(async () => {
    rig = await createBroadcastRig({ residents: RESIDENTS, limits: LIMITS });
    await rig.startWorker(WORKER_ENV);
    await rig.startWorker(WORKER_ENV);
  }, 180_000);
  afterAll(async () => {
    await rig?.close();
  }, 120_000);

  /** The notice's outbox rows all sent: nothing more can go out, so the emulator's count is final. */
  const drained = (noticeId: string) =>
    waitFor(
      async () => {
        const pattern = `n:${noticeId}:%`;
        const [all] = await rig.database.db.select({ n: count() }).from(outbox).where(like(outbox.dedupeKey, pattern));
        const [open] = await rig.database.db.select({ n: count() }).from(outbox).where(and(like(outbox.dedupeKey, pattern), ne(outbox.status, 'sent')));
        return all!.n === RESIDENTS && open!.n === 0 ? true : undefined;
      },
      'every outbox row of the notice to be sent',
      DRAIN_WITHIN_MS,
      250,
    ).catch(async (err) => {
      const byStatus = await rig.database.db
        .select({ status: outbox.status, n: count() })
        .from(outbox)
        .where(like(outbox.dedupeKey, `n:${noticeId}:%`))
        .groupBy(outbox.status);
      throw new Error(`${(err as Error).message}: outbox rows by status ${JSON.stringify(byStatus)}; workers said:\n${rig.workers.map((w) => w.output().slice(-3000)).join('\n---\n')}`);
    });
  const deliveredAtLeast = (title: string, share: number) =>
    waitFor(async () => rig.tally(title).delivered >= RESIDENTS * share || undefined, `${share * 100}% of "${title}" delivered`, DRAIN_WITHIN_MS, 50);

  /** Each call refused with 429 was tried again for that chat no sooner than retry_after said. */
  function retryAfterHonoured(): { refused: number; early: number } {
    const sends = rig.emulator.calls.filter((c) => c.method === 'sendMessage' || c.method === 'sendPhoto');
    const byChat = new Map<number, typeof sends>();
    for (const c of sends) {
      const chat = Number(c.params.chat_id);
      byChat.set(chat, [...(byChat.get(chat) ?? []), c]);
    }
    let refused = 0;
    let early = 0;
    for (const calls of byChat.values()) {
      calls.forEach((c, i) => {
        if (c.errorCode !== 429) return;
        refused++;
        const next = calls[i + 1];
        // 50 ms of slack: the two times are read at different points of handling a call.
        if (next && next.at < c.at + (c.retryAfter ?? 1) * 1000 - 50) early++;
      });
    }
    return { refused, early };
  }

  function expectExactlyOnce(title: string) {
    const t = rig.tally(title);
    const rate = t.delivered / Math.max(0.001, (t.lastAt - t.firstAt) / 1000);
    console.info(`[broadcast] "${title}": ${t.delivered}/${RESIDENTS} residents got it, ${t.doubled} twice; ${rate.toFixed(0)}/s over the drain; emulator refused ${rig.emulator.flood!.refusedTotal} calls with 429 so far`);
    expect({ lost: t.lost, doubled: t.doubled }).toEqual({ lost: 0, doubled: 0 });
  }

  it('reaches every resident exactly once while a case report gets each reply within seconds', async () => {
    await rig.startBot();
    const reporter = new TelegramDriver(rig.emulator, 900_001);
    await reporter.sendText('你好');
    await reporter.choose('简体中文');
    await reporter.choose(zh.onboarding.agree);
    await reporter.choose(zh.onboarding.bindInvite);
    await reporter.sendText(rig.town.inviteCode);
    await reporter.expectMessage(zh.dialog.menuTitle, 30_000);

    const title = '停水通知（一）';
    const noticeId = await rig.broadcast(title);
    await deliveredAtLeast(title, 0.1);
    const t0 = Date.now();
    const before = rig.tally(title).delivered;
    // Every step waits for its reply with REPLY_WITHIN_MS as the limit.
    const { number } = await report(reporter, { category: '环境卫生', description: '3号楼门口的垃圾桶满了没人清', priority: 'normal', maxPhotos: 4 }, REPLY_WITHIN_MS);
    const reportMs = Date.now() - t0;
    const during = rig.tally(title).delivered;
    console.info(`[broadcast] case ${number} reported in ${reportMs} ms (8 steps) while the broadcast went from ${before} to ${during} of ${RESIDENTS}`);
    // The report really ran while the broadcast was draining.
    expect(during).toBeLessThan(RESIDENTS);

    // Telegram tightens to 20/s for 5 s, below what linli sends: 429s with retry_after, waited out.
    const refusedBefore = rig.emulator.flood!.refusedTotal;
    rig.emulator.flood!.setGlobalPerSec(20);
    await new Promise((r) => setTimeout(r, 5000));
    rig.emulator.flood!.setGlobalPerSec(LIMITS.globalPerSec);
    expect(rig.emulator.flood!.refusedTotal - refusedBefore).toBeGreaterThan(0);

    await drained(noticeId);
    expectExactlyOnce(title);
    const honoured = retryAfterHonoured();
    console.info(`[broadcast] 429s so far ${honoured.refused}, retried before retry_after ${honoured.early}`);
    expect(honoured.early).toBe(0);
  }, 1_200_000);

  it('reaches every resident exactly once when a worker process is killed with SIGKILL mid-broadcast', async () => {
    const title = '停水通知（二）';
    const noticeId = await rig.broadcast(title);
    await deliveredAtLeast(title, 0.2);
    // Its calls in flight but none accepted (a call Telegram accepted and the dead process could
    // not record is the one case no sender can tell apart; see the report in the README).
    rig.emulator.hold();
    // The kill lands once every call Telegram accepted is recorded sent (a marking write waits for
    // its group commit, which on a loaded machine takes longer than any fixed pause), so what is
    // in flight at the kill is only calls the dead process never had answered.
    await waitFor(
      async () => {
        const [sent] = await rig.database.db.select({ n: count() }).from(outbox).where(and(like(outbox.dedupeKey, `n:${noticeId}:%`), eq(outbox.status, 'sent')));
        return sent!.n >= rig.tally(title).delivered || undefined;
      },
      'every accepted call of the notice to be recorded sent',
      60_000,
      50,
    );
    const victim = rig.workers[0]!;
    const ports = tcpPortsOf(victim.child.pid!, Number(new URL(rig.emulator.url).port));
    let atKill: number;
    try {
      expect(ports.size).toBeGreaterThan(0);
      process.kill(victim.child.pid!, 'SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
      // Released only once the emulator has seen the dead worker's connections close: a held call
      // of a caller that is gone must never count as one Telegram accepted.
      await waitFor(async () => rig.emulator.openFrom(ports) === 0 || undefined, 'the emulator to see the killed worker’s connections closed', 30_000, 20);
      atKill = rig.tally(title).delivered;
    } finally {
      // Whatever failed above, the next test gets a network and two workers, not a held emulator.
      rig.emulator.release();
      await rig.startWorker(WORKER_ENV);
    }
    await drained(noticeId);
    console.info(`[broadcast] killed a worker at ${atKill}/${RESIDENTS} delivered (${ports.size} sockets of its own, seen closed before the network came back)`);
    expectExactlyOnce(title);
    expect(retryAfterHonoured().early).toBe(0);
  }, 1_200_000);

  it('reaches every resident exactly once when Redis is flushed mid-broadcast', async () => {
    const title = '停水通知（三）';
    const noticeId = await rig.broadcast(title);
    await deliveredAtLeast(title, 0.2);
    const deleted = await flushPrefix(rig.prefix);
    const atFlush = rig.tally(title).delivered;
    await drained(noticeId);
    console.info(`[broadcast] flushed ${deleted} Redis keys at ${atFlush}/${RESIDENTS} delivered`);
    expectExactlyOnce(title);
    expect(retryAfterHonoured().early).toBe(0);
  }, 1_200_000);
});
