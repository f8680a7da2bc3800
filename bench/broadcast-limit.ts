import { and, count, eq, like } from 'drizzle-orm';
import { outbox } from '../db/schema/index.js';
import { createBroadcastRig } from '../tests/fault/broadcast-rig.js';
import { STREET_TELEGRAM_BASE } from '../tests/support/street-fixture.js';
import type { TelegramEmulator } from '../tests/support/telegram-emulator.js';
import { TELEGRAM_LIMITS } from '../tests/support/telegram-limits.js';
import { fmtRate, fmtRatio, progress, waitUntil, type ResultRow } from './common.js';

/**
 * (a) and (b): a notice to `residents` Telegram residents against the Telegram emulator enforcing
 * `limit` sends/s (and 1/s per chat), linli's worker in a process of its own with its call limit
 * set to the same rate. Delivered/s over the drain (first copy accepted → last) against the raw
 * limit measured in the same run: a bare client pacing sendMessage calls at the limit against the
 * same emulator, with no database or queue. At 30/s the ratio shows how close linli keeps to the
 * platform's limit; at 1,000/s, where linli itself stops. Lost and doubled copies are counted per
 * chat in the emulator.
 */
export async function benchBroadcastAtLimit(opts: { residents: number; limit: number; label: string }): Promise<ResultRow[]> {
  const limits = { ...TELEGRAM_LIMITS, globalPerSec: opts.limit };
  const rig = await createBroadcastRig({ residents: opts.residents, limits });
  try {
    // Chats the raw client writes to lie outside the street, so they do not count as copies.
    const raw = await rawRate(rig.emulator, opts.limit, Math.min(opts.residents, Math.max(300, opts.limit * 5)));
    progress(`${opts.label}: raw client at ${opts.limit}/s reached ${raw.perSec.toFixed(1)}/s (${raw.refused} × 429)`);
    await new Promise((r) => setTimeout(r, 1100)); // a fresh window for linli
    await rig.startWorker({ OUTBOX_SWEEP_MS: '15000' });
    const refusedBefore = rig.emulator.flood!.refusedTotal;
    const title = `停水通知 ${opts.label}`;
    const t0 = Date.now();
    const noticeId = await rig.broadcast(title);
    const pattern = `n:${noticeId}:%`;
    const timeoutMs = Math.ceil((opts.residents / opts.limit) * 1000) * 4 + 120_000;
    let timedOut = false;
    await waitUntil(
      async () => {
        const [open] = await rig.database.db.select({ n: count() }).from(outbox).where(and(like(outbox.dedupeKey, pattern), eq(outbox.status, 'pending')));
        const t = rig.tally(title);
        return t.delivered >= opts.residents && open!.n === 0;
      },
      'the broadcast to drain',
      timeoutMs,
      100,
    ).catch(() => (timedOut = true));
    await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show now
    const t = rig.tally(title);
    const drainS = (t.lastAt - t.firstAt) / 1000;
    const perSec = (t.delivered - 1) / Math.max(drainS, 0.001);
    const refused = rig.emulator.flood!.refusedTotal - refusedBefore;
    progress(
      `${opts.label}: ${t.delivered}/${opts.residents} delivered (${t.doubled} twice) at ${perSec.toFixed(1)}/s; first copy ${((t.firstAt - t0) / 1000).toFixed(1)} s after confirm, last ${((t.lastAt - t0) / 1000).toFixed(1)} s; ${refused} × 429${timedOut ? ' (TIMED OUT)' : ''}`,
    );
    const ratio = perSec / raw.perSec;
    return [
      {
        backend: 'redis',
        metric: `${opts.label} broadcast of ${opts.residents} to Telegram at ${opts.limit}/s: delivered/s (÷ limit ${fmtRatio(perSec / opts.limit)}; ${refused} × 429)`,
        value: `${perSec.toFixed(1)}/s`,
        raw: `${fmtRate(raw.perSec)} raw client`,
        ratio: fmtRatio(ratio),
        aim: opts.limit <= 30 ? '≥ 0.95' : '(where linli stops)',
        ok: opts.limit <= 30 ? ratio >= 0.95 && t.lost === 0 && t.doubled === 0 : undefined,
      },
      {
        backend: 'redis',
        metric: `${opts.label} lost / doubled`,
        value: `${t.lost} / ${t.doubled}`,
        raw: '-',
        ratio: '-',
        aim: '0 / 0',
        ok: t.lost === 0 && t.doubled === 0,
      },
    ];
  } finally {
    await rig.close();
  }
}

/**
 * The raw limit: `n` sendMessage calls paced at `limit`/s from 16 loops (a 429 waits its
 * retry_after and tries again), to chats the street does not use; calls/s accepted.
 */
async function rawRate(emulator: TelegramEmulator, limit: number, n: number): Promise<{ perSec: number; refused: number }> {
  const chats = Array.from({ length: n }, (_, i) => STREET_TELEGRAM_BASE - 1 - i);
  emulator.knowUsers(chats);
  const url = `${emulator.url}/bot${emulator.token}/sendMessage`;
  const start = Date.now();
  let next = 0;
  let refused = 0;
  let first = Infinity;
  let last = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const due = start + (i * 1000) / limit;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        for (;;) {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: chats[i], text: `raw ${i}` }) });
          const body = (await res.json()) as { ok: boolean; parameters?: { retry_after?: number } };
          if (body.ok) break;
          refused++;
          await new Promise((r) => setTimeout(r, (body.parameters?.retry_after ?? 1) * 1000));
        }
        const at = Date.now();
        first = Math.min(first, at);
        last = Math.max(last, at);
      }
    }),
  );
  return { perSec: (n - 1) / Math.max((last - first) / 1000, 0.001), refused };
}
