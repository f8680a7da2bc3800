/**
 * Benchmarks for the case pipeline and the web chat's inbound path on both BullMQ backends; every figure is printed next to the
 * raw limit measured in the same run on this machine. Not part of `npm test`.
 *
 *   npx tsx bench/run.ts [--only intake|routing|lateness|…|signups|ballots[,…]] [--backend redis|postgres|both]
 *                        [--n N] [--raw-n N] [--concurrency C] [--timers N] [--due N|all] [--window S] [--burst N]
 *                        [--lateness-concurrency C] [--quiet-wait S]
 *                        [--web-active N] [--web-idle N] [--web-steps R,R,…] [--web-step-s S] [--idle-s S]
 *                        [--broadcast-n N] [--broadcast-rate R] [--limit-n N] [--limit-rates R,R]
 *                        [--signups N] [--offers N] [--offer-due N] [--offer-window S]
 *                        [--ballots-n N] [--vote-households N] [--million N]
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { TEST_PG_URL } from '../tests/support/db.js';
import { machineIdle, type BackendKind, type ResultRow } from './common.js';
import { benchBallots } from './ballots.js';
import { benchBroadcast, benchInbound } from './inbound.js';
import { benchBroadcastAtLimit } from './broadcast-limit.js';
import { benchFanout } from './fanout.js';
import { benchIntake } from './intake.js';
import { benchRoundTrips } from './roundtrips.js';
import { benchLateness } from './lateness.js';
import { benchRouting } from './routing.js';
import { benchSignups } from './signups.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'intake,routing,lateness,roundtrips,inbound,broadcast,fanout,at-limit,signups,ballots' },
    'ballots-n': { type: 'string', default: '3000' },
    'vote-households': { type: 'string', default: '10000' },
    million: { type: 'string', default: '1000000' },
    households: { type: 'string', default: '10000,100000' },
    backend: { type: 'string', default: 'both' },
    n: { type: 'string', default: '3000' },
    'raw-n': { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '8' },
    timers: { type: 'string', default: '100000' },
    due: { type: 'string', default: '3000' },
    window: { type: 'string', default: '60' },
    burst: { type: 'string', default: '1000' },
    'lateness-concurrency': { type: 'string' },
    'quiet-wait': { type: 'string', default: '120' },
    'web-active': { type: 'string', default: '400' },
    'web-idle': { type: 'string', default: '1000' },
    'web-steps': { type: 'string' },
    'web-step-s': { type: 'string', default: '8' },
    'idle-s': { type: 'string', default: '30' },
    'broadcast-n': { type: 'string', default: '10000' },
    'broadcast-rate': { type: 'string', default: '100' },
    'limit-n': { type: 'string', default: '2000' },
    'limit-rates': { type: 'string', default: '30,1000' },
    signups: { type: 'string', default: '2000' },
    offers: { type: 'string', default: '100000' },
    'offer-due': { type: 'string', default: '2000' },
    'offer-window': { type: 'string', default: '30' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: npx tsx bench/run.ts [options]
  --only intake,routing,lateness,roundtrips,inbound,broadcast,fanout,at-limit,signups
                                   which benchmarks (default: all)
  --households N,M                 audiences of the notice fan-out (default 10000,100000)
  --backend redis|postgres|both    BullMQ backend(s) (default: both)
  --n N                            cases for intake and routing, no-op jobs for routing (default 3000)
  --raw-n N                        rows for the raw INSERT baseline (default 20000)
  --concurrency C                  intake/raw INSERT concurrency (default 8)
  --timers N                       deadline timers pending in the lateness run (default 100000)
  --due N|all                      how many of them fall due within the window (default 3000)
  --window S                       seconds over which those fall due (default 60)
  --burst N                        then N more timers due at one instant, to show the drain rate (default 1000; 0 = skip)
  --lateness-concurrency C         deadline worker concurrency (default: caseProcessors' own)
  --quiet-wait S                   wait up to S s for the machine to be ≥85% idle before each benchmark (default 120)
  --web-active N                   (c) web chats sending messages (default 400)
  --web-idle N                     (c) open idle web chats, whose CPU is measured (default 1000)
  --web-steps R,R,…                (c) offered messages/s, stepped up until p99 > 1 s
                                   (default 100,200,300,400,500,600,800,1000,1200,1500 on Redis; 50,100,…,600 on PostgreSQL)
  --web-step-s S                   (c) seconds per step (default 8)
  --idle-s S                       (c) seconds of CPU measurement with and without the idle chats (default 30)
  --broadcast-n N                  (d) broadcast rows to web chats (default 10000)
  --broadcast-rate R               (d) conversation messages/s offered while it drains (default 100)
  --limit-n N                      (a, b) Telegram residents a notice goes to (default 2000)
  --limit-rates R,R                (a, b) the emulated Telegram global limits, one run each (default 30,1000)
  --signups N                      (g) sign-ups in one burst for one session of N/4 seats (default 2000; --concurrency)
  --offers N                       (g) pending waiting-list offers (default 100000)
  --offer-due N                    (g) how many of them expire within the window (default 2000)
  --offer-window S                 (g) seconds over which those expire (default 30)
  --ballots-n N                    (ballots) ballots cast for the stored-per-second figure (default 3000)
  --vote-households N              (ballots) households voting within one minute (default 10000)
  --million N                      (ballots) ballots in the chain that is tallied and verified (default 1000000)`);
  process.exit(0);
}

const int = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} wants a positive integer, got ${v}`);
  return n;
};
const only = new Set(values.only!.split(',').map((s) => s.trim()));
for (const o of only) if (!['intake', 'routing', 'lateness', 'roundtrips', 'inbound', 'broadcast', 'fanout', 'at-limit', 'signups', 'ballots'].includes(o)) throw new Error(`unknown benchmark ${o}`);
const backends: BackendKind[] = values.backend === 'both' ? ['redis', 'postgres'] : [values.backend as BackendKind];
for (const b of backends) if (b !== 'redis' && b !== 'postgres') throw new Error(`unknown backend ${b}`);
const n = int('n', values.n);
const rawN = int('raw-n', values['raw-n']);
const concurrency = int('concurrency', values.concurrency);
const timers = int('timers', values.timers);
const due = values.due === 'all' ? timers : int('due', values.due);
const windowS = int('window', values.window);
const burst = values.burst === '0' ? 0 : int('burst', values.burst);
const quietWaitS = Number(values['quiet-wait']);
const latenessConcurrency = values['lateness-concurrency'] ? int('lateness-concurrency', values['lateness-concurrency']) : undefined;
const webSteps = (backend: BackendKind) =>
  values['web-steps']
    ? values['web-steps'].split(',').map((v) => int('web-steps', v.trim()))
    : backend === 'redis'
      ? [100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500]
      : [50, 100, 150, 200, 300, 400, 500, 600];
const web = { active: int('web-active', values['web-active']), idle: int('web-idle', values['web-idle']), stepS: int('web-step-s', values['web-step-s']), idleS: int('idle-s', values['idle-s']) };
const broadcast = { n: int('broadcast-n', values['broadcast-n']), rate: int('broadcast-rate', values['broadcast-rate']) };

const rows: ResultRow[] = [];
const notes: string[] = [];
const started = Date.now();

/** Waits (up to --quiet-wait s) for other work on the machine to settle, and notes it if it did not. */
async function settle(what: string) {
  const end = Date.now() + quietWaitS * 1000;
  let idle = await machineIdle();
  while (idle < 0.85 && Date.now() < end) {
    process.stderr.write(`  · machine only ${(idle * 100).toFixed(0)}% idle, waiting before ${what}\n`);
    await new Promise((r) => setTimeout(r, 4000));
    idle = await machineIdle();
  }
  if (idle < 0.85) notes.push(`${what}: started with the machine only ${(idle * 100).toFixed(0)}% idle (other processes running)`);
  // Each benchmark starts from a collected heap (with --expose-gc), not with what the ones before it left for the collector.
  (globalThis as { gc?: () => void }).gc?.();
  await checkpoint(what);
}

/**
 * A checkpoint before each benchmark, so none starts with the one before's WAL still counting
 * towards the next checkpoint: one falling inside a measured phase made every page it touched
 * first write a full-page image (a ballot's after the 100,000-household fan-out: 0.39 in the
 * full run against 0.40–0.56 alone). The raw baselines are measured in the same cycle.
 */
async function checkpoint(what: string) {
  const admin = postgres(TEST_PG_URL, { max: 1, onnotice: () => {} });
  try {
    await admin`checkpoint`;
  } catch (err) {
    notes.push(`${what}: no checkpoint before it (${(err as Error).message})`);
  } finally {
    await admin.end();
  }
}

for (const backend of backends) {
  if (only.has('intake')) {
    await settle(`intake on ${backend}`);
    process.stderr.write(`intake on ${backend}…\n`);
    rows.push(...(await benchIntake(backend, { n, rawN, concurrency })));
  }
  if (only.has('routing')) {
    await settle(`routing on ${backend}`);
    process.stderr.write(`routing on ${backend}…\n`);
    rows.push(...(await benchRouting(backend, { n })));
  }
  if (only.has('roundtrips') && backend === backends[0]) {
    // Statement counts do not depend on the queue backend: counted once.
    process.stderr.write(`round trips per message…\n`);
    rows.push(...(await benchRoundTrips()));
  }
  if (only.has('inbound')) {
    await settle(`inbound on ${backend}`);
    process.stderr.write(`inbound web chat on ${backend}…\n`);
    rows.push(...(await benchInbound(backend, { ...web, steps: webSteps(backend) })));
  }
  if (only.has('broadcast')) {
    await settle(`broadcast on ${backend}`);
    process.stderr.write(`conversation during a broadcast on ${backend}…\n`);
    rows.push(...(await benchBroadcast(backend, { ...broadcast, active: Math.min(web.active, 200) })));
  }
  if (only.has('signups')) {
    await settle(`signups on ${backend}`);
    process.stderr.write(`activity sign-ups and offer expiry on ${backend}…\n`);
    rows.push(...(await benchSignups(backend, { n: int('signups', values.signups), concurrency, offers: int('offers', values.offers), due: int('offer-due', values['offer-due']), windowS: int('offer-window', values['offer-window']) })));
  }
  if (only.has('lateness')) {
    await settle(`lateness on ${backend}`);
    process.stderr.write(`lateness on ${backend}…\n`);
    rows.push(...(await benchLateness(backend, { timers, due, windowS, burst, concurrency: latenessConcurrency })));
  }
}

if (only.has('at-limit')) {
  // Redis only: linli's worker in its own process against the rate-limited Telegram emulator.
  const n = int('limit-n', values['limit-n']);
  for (const rate of values['limit-rates']!.split(',').map((r) => int('limit-rates', r.trim()))) {
    // (a) at the platform's own limit, (b) above it.
    const label = rate <= 30 ? '(a)' : '(b)';
    await settle(`broadcast at ${rate}/s`);
    process.stderr.write(`${label} broadcast at an emulated ${rate}/s…\n`);
    rows.push(...(await benchBroadcastAtLimit({ residents: n, limit: rate, label })));
  }
}

if (only.has('fanout')) {
  // Database only: the fan-out writes outbox rows; no queue backend is involved.
  await settle('fan-out');
  process.stderr.write('fan-out…\n');
  rows.push(...(await benchFanout({ households: values.households!.split(',').map((h) => int('households', h.trim())) })));
}

if (only.has('ballots')) {
  // Database only: ballots, their chain and their tally are rows; no queue backend is involved.
  await settle('ballots');
  process.stderr.write('ballots…\n');
  rows.push(...(await benchBallots({ n: int('ballots-n', values['ballots-n']), concurrency, households: int('vote-households', values['vote-households']), million: int('million', values.million) })));
}

const header = ['backend', 'metric', 'value', 'raw limit', 'ratio', 'aim', ''];
const table = [header, ...rows.map((r) => [r.backend, r.metric, r.value, r.raw, r.ratio, r.aim, r.ok === undefined ? '' : r.ok ? 'met' : 'MISSED'])];
const width = (s: string) => [...s].reduce((w, ch) => w + (ch.codePointAt(0)! > 0x2e80 ? 2 : 1), 0);
const cols = header.map((_, i) => Math.max(...table.map((row) => width(row[i]!))));
console.log('');
for (const row of table) console.log(row.map((cell, i) => cell + ' '.repeat(cols[i]! - width(cell))).join('  ').trimEnd());
for (const note of notes) console.log(`note: ${note}`);
console.log(`\n(${process.arch}, ${(await import('node:os')).cpus().length} CPUs, node ${process.version}; ${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exit(0);
