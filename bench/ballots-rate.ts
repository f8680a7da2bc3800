/**
 * (f) ballots stored per second only, in seconds instead of the full (f) run's minutes: each round
 * a fresh database, the raw INSERT … ON CONFLICT before and after the ballots as bench/ballots.ts
 * runs them, and per operation the CPU of this process and of its PostgreSQL backends and the WAL
 * written ("raw before" also opens the pool's connections, as in the full run). On a shared
 * machine the rates swing with other load; CPU and WAL per ballot swing less, so they say
 * whether a change to the ballot's statement or schema made it cheaper.
 *
 *   flock /tmp/bench.lock npx tsx bench/ballots-rate.ts [--rounds R] [--n N] [--concurrency C]
 */
import { parseArgs } from 'node:util';
import { castBallot } from '../src/consultations/commands.js';
import { createFirstBallots } from '../src/consultations/first-ballot.js';
import { createTestDatabase } from '../tests/support/db.js';
import { seedStreet } from '../tests/support/street-fixture.js';
import { openVote, rawRate } from './ballots.js';
import { backendCpuMs, runConcurrent, walBytes, warmConnections } from './common.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, n: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '8' } } });
const rounds = Number(values.rounds);
const n = Number(values.n);
const concurrency = Number(values.concurrency);
type Db = Awaited<ReturnType<typeof createTestDatabase>>;

/** Runs a phase of `n` operations: their rate, and per operation µs of Node CPU and backend CPU, and WAL bytes (the whole server's). */
async function phase(database: Db, op: () => Promise<number>) {
  const [wal0, pg0, node0] = [await walBytes(database.sql), await backendCpuMs(database.sql), process.cpuUsage()];
  const seconds = await op();
  const node = process.cpuUsage(node0);
  const [pg1, wal1] = [await backendCpuMs(database.sql), await walBytes(database.sql)];
  return { rate: n / seconds, node: (node.user + node.system) / n, pg: ((pg1 - pg0) * 1000) / n, wal: Number(wal1 - wal0) / n };
}

const line = (p: Awaited<ReturnType<typeof phase>>) => `${p.rate.toFixed(0)}/s (node ${p.node.toFixed(0)} µs, backends ${p.pg.toFixed(0)} µs, WAL ${p.wal.toFixed(0)} B)`;

for (let r = 0; r < rounds; r++) {
  const database = await createTestDatabase();
  const firstBallots = createFirstBallots({ url: database.url });
  try {
    const street = await seedStreet(database, n);
    const people = (await database.sql`select id from people where household_id is not null order by household_id`).map((row) => row.id as string);
    const vote = await openVote(database, street.streetId, street.secretary, '存储速率');
    await warmConnections(database.sql, concurrency);
    const raw1 = await phase(database, async () => n / (await rawRate(database, n, concurrency)));
    const stored = await phase(database, () => runConcurrent(n, concurrency, (i) => castBallot(database.db, 'bench-ballot-key', vote, people[i]!, [i % 3], new Date(), firstBallots)));
    const raw2 = await phase(database, async () => n / (await rawRate(database, n, concurrency)));
    const ratio = stored.rate / ((raw1.rate + raw2.rate) / 2);
    console.log(`round ${r + 1}: ratio ${ratio.toFixed(3)}\n  raw before ${line(raw1)}\n  ballots    ${line(stored)}\n  raw after  ${line(raw2)}`);
  } finally {
    await firstBallots.close();
    await database.drop();
  }
}
