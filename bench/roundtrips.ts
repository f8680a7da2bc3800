import type { Job } from 'bullmq';
import { connect } from '../db/client.js';
import { createDeliverProcessor } from '../jobs/deliver.js';
import { createDialog } from '../src/dialog/engine.js';
import { messages } from '../src/i18n/index.js';
import type { QueuedMessage } from '../src/outbox/outbox.js';
import { residentFlows } from '../src/residents/flows.js';
import { EngineChat } from '../tests/support/engine-chat.js';
import { createTestDatabase } from '../tests/support/db.js';
import { createSmallTown } from '../tests/support/org-fixture.js';
import { fmtRatio, logger, type ResultRow } from './common.js';
import { loadConfig } from '../src/config.js';

const zh = messages('zh-CN');

/**
 * Database round trips per inbound message, counted on the wire (every statement postgres.js
 * sends, BEGIN and COMMIT included): the dialog turn in the web process, the deliver job that
 * marks the reply sent, and the poll that reads it. Queue-backend traffic (BullMQ's own Redis
 * commands or PostgreSQL transactions) is not in it. Counts are deterministic; `n` messages are
 * averaged only to show that.
 */
export async function benchRoundTrips(opts: { n?: number } = {}): Promise<ResultRow[]> {
  const n = opts.n ?? 20;
  const base = await createTestDatabase();
  const town = await createSmallTown(base);
  let count = 0;
  let counting = false;
  const show = process.env.SHOW_SQL === '1';
  const database = connect(base.url, {
    max: 4,
    onQuery: (q) => {
      if (!counting) return;
      count++;
      if (show) process.stderr.write(`    ${q.replace(/\s+/g, ' ').trim().slice(0, 160)}\n`);
    },
  });
  const queued: QueuedMessage[] = [];
  const dialog = createDialog({ database, config: loadConfig({ LOG_LEVEL: 'silent' }), logger, flows: residentFlows, delivery: { enqueue: async (m) => void queued.push(...m.filter((q) => !q.sent)) }, sentOnCommit: new Set(['web']) });
  const deliver = createDeliverProcessor({ database, adapters: new Map([['web', { channel: 'web', start: async () => {}, stop: async () => {}, send: async () => ({ ok: true }), fetchMedia: async () => { throw new Error('none'); } }]]), logger });
  const measure = async (fn: () => Promise<unknown>) => {
    count = 0;
    counting = true;
    await fn();
    counting = false;
    return count;
  };
  const deliverAll = async () => {
    const jobs = queued.splice(0);
    for (const q of jobs) await deliver({ id: `out-${q.outboxId}`, data: { outboxId: q.outboxId, channel: q.channel }, attemptsMade: 0, opts: { attempts: 8 } } as unknown as Job);
    return jobs.length;
  };
  try {
    // A first message from a new visitor: identity and person are created.
    let firstTurn = 0;
    let firstDeliver = 0;
    let replies = 0;
    for (let i = 0; i < n; i++) {
      const chat = new EngineChat(dialog, database, `rt-new-${i}`);
      firstTurn += await measure(() => chat.text('你好'));
      firstDeliver += await measure(async () => void (replies += await deliverAll()));
    }
    // An onboarded resident asking for the menu: the common case of a conversation turn.
    const resident = new EngineChat(dialog, database, 'rt-resident');
    await resident.text('你好');
    await resident.choose('简体中文');
    await resident.choose(zh.onboarding.agree);
    await resident.choose(zh.onboarding.bindInvite);
    await resident.text(town.inviteCode);
    await deliverAll();
    let menuTurn = 0;
    let menuDeliver = 0;
    let menuReplies = 0;
    for (let i = 0; i < n; i++) {
      menuTurn += await measure(() => resident.text('菜单'));
      menuDeliver += await measure(async () => void (menuReplies += await deliverAll()));
    }
    const poll = 1; // the long poll's one read (bots/web/index.ts sentAfter)
    // Before issue 13's inbound work (commit f9bef7e, same counter): turn 14.1 (new visitor) and
    // 13.0 (menu), deliver 6, and the poll read 2 to 3 times (it was woken before the row was
    // marked sent, found nothing, and read again on its 500 ms tick). Then (43e9337) turn 5,
    // deliver 6 (inline), poll 1; now the web reply is written sent by the turn (deliver 0).
    const before = { 'round trips, new visitor message': 22.1, 'round trips, resident menu turn': 21 } as Record<string, number>;
    const row = (metric: string, turn: number, deliverStatements: number, repliesSent: number): ResultRow => {
      const total = turn / n + deliverStatements / n + poll;
      return {
        backend: 'postgres',
        metric,
        value: `${total.toFixed(1)} statements`,
        raw: `turn ${(turn / n).toFixed(1)} + deliver ${repliesSent ? `${(deliverStatements / repliesSent).toFixed(1)}×${(repliesSent / n).toFixed(1)}` : '0 (written sent)'} + poll ${poll}`,
        ratio: fmtRatio(total / before[metric]!),
        aim: `< before (${before[metric]})`,
        ok: total < before[metric]!,
      };
    };
    return [row('round trips, new visitor message', firstTurn, firstDeliver, replies), row('round trips, resident menu turn', menuTurn, menuDeliver, menuReplies)];
  } finally {
    await database.close();
    await base.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchRoundTrips());
  process.exit(0);
}
