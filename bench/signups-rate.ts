/**
 * (g) the sign-up burst's ratio only, in seconds instead of the full run's minutes, with what each
 * operation costs: each round a fresh database, the raw INSERT before and after the sign-ups as
 * bench/signups.ts runs them (the pool's connections opened first), and per operation the CPU of
 * this process and of the database's PostgreSQL backends and the WAL written (the whole
 * server's). On a shared machine the rates swing with other load; CPU and WAL per sign-up swing
 * less, so they say whether a change to the claim made it cheaper.
 *
 *   flock /tmp/bench.lock npx tsx bench/signups-rate.ts [--rounds R] [--backend redis|postgres] [--n N] [--concurrency C]
 */
import { parseArgs } from 'node:util';
import { backendCpuMs, createEnv, walBytes, warmConnections, type BackendKind, type BenchEnv } from './common.js';
import { benchSeats, newSession, rawInserts, residents, signUpBurst } from './signups.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, backend: { type: 'string', default: 'postgres' }, n: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '8' } } });
const rounds = Number(values.rounds);
const n = Number(values.n);
const concurrency = Number(values.concurrency);

/** Runs a phase of `n` operations: their rate, and per operation µs of Node CPU and backend CPU, and WAL bytes. */
async function phase(env: BenchEnv, op: () => Promise<number>) {
  const sql = env.database.sql;
  const [wal0, pg0, node0] = [await walBytes(sql), await backendCpuMs(sql), process.cpuUsage()];
  const seconds = await op();
  const node = process.cpuUsage(node0);
  const [pg1, wal1] = [await backendCpuMs(sql), await walBytes(sql)];
  return { rate: n / seconds, node: (node.user + node.system) / n, pg: ((pg1 - pg0) * 1000) / n, wal: Number(wal1 - wal0) / n };
}

const line = (p: Awaited<ReturnType<typeof phase>>) => `${p.rate.toFixed(0)}/s (node ${p.node.toFixed(0)} µs, backends ${p.pg.toFixed(0)} µs, WAL ${p.wal.toFixed(0)} B)`;

for (let r = 0; r < rounds; r++) {
  const env = await createEnv(values.backend as BackendKind);
  try {
    const people = await residents(env, n);
    await warmConnections(env.database.sql, concurrency);
    const raw1 = await phase(env, () => rawInserts(env, people, concurrency));
    const sessionId = await newSession(env, Math.floor(n / 4), 86_400_000);
    const seats = benchSeats(env);
    // The seats' own connections are read before they close (their CPU would go with them).
    const signed = await phase(env, () => signUpBurst(env, seats, people, sessionId, concurrency));
    await seats.close();
    const raw2 = await phase(env, () => rawInserts(env, people, concurrency));
    const ratio = signed.rate / ((raw1.rate + raw2.rate) / 2);
    console.log(`round ${r + 1}: ratio ${ratio.toFixed(3)}\n  raw before ${line(raw1)}\n  sign-ups   ${line(signed)}\n  raw after  ${line(raw2)}`);
  } finally {
    await env.close();
  }
}
