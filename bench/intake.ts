import { JOBS } from '../jobs/registry.js';
import { caseInput } from '../tests/support/case-fixture.js';
import { intakeCase } from '../src/cases/run.js';
import { countingDatabase, cpuMeter, createEnv, fmtRate, fmtRatio, progress, runConcurrent, type BackendKind, type ResultRow } from './common.js';

export const INTAKE_AIM = 0.25;

/**
 * Case intake vs raw INSERT, same table, same concurrency (`concurrency` loops over the same
 * 10-connection pool). Raw: one autocommitted `insert into cases (…)` of the same columns
 * submitCase writes. Intake: intakeCase — one statement (intake-key check, grid lookup, day counter
 * upsert, case row, follower, event, photos), then the route job added on the queue backend.
 */
export async function benchIntake(kind: BackendKind, opts: { n: number; rawN: number; concurrency: number }): Promise<ResultRow[]> {
  const env = await createEnv(kind);
  try {
    const { database, town, who } = env;
    const sql = database.sql;
    const now = () => new Date();
    const raw = (key: string, number: string) =>
      sql`insert into cases (number, intake_key, community_id, grid_id, place_id, category_id, priority, description, lat, lng, location_label,
                             reporter_id, intake_staff_id, first_unit_id, created_at, updated_at)
          values (${number}, ${key}, ${town.community.id}, ${town.grid.id}, ${town.households[0]!.id}, ${env.environmentCategory}, 'normal',
                  '楼道里堆满了杂物', null, null, null, ${who.resident}, null, ${town.community.id}, ${now().toISOString()}, ${now().toISOString()})`;
    const input = (key: string) => caseInput(town, who, env.environmentCategory, { intakeKey: key });
    const intake = (key: string) => intakeCase(env.deps, input(key), new Date());

    // Warm-up: prepared statements, connections, queue clients.
    await runConcurrent(200, opts.concurrency, (i) => raw(`warm-raw:${i}`, `WR-${i}`));
    await runConcurrent(200, opts.concurrency, (i) => intake(`warm:${i}`));

    // Statements one intake sends (same code, a counting connection), for the explanation.
    const counting = countingDatabase(database.url);
    for (let i = 0; i < 20; i++) await intakeCase({ ...env.deps, database: counting.database }, input(`count:${i}`), new Date());
    const perIntake = counting.count() / 20;
    await counting.close();
    progress(`${kind} case intake sends ${perIntake} SQL statement(s) per case, autocommitted, then its route job`);

    // The raw limit is measured before and after the intake run and averaged, so a machine that
    // speeds up or slows down during the run (shared hosts do) does not tilt the ratio.
    const rawRun = async (tag: string) => {
      const cpu = cpuMeter();
      const secs = await runConcurrent(opts.rawN, opts.concurrency, (i) => raw(`raw-${tag}:${i}`, `R${tag}-${i}`));
      progress(`${kind} raw INSERT (${tag}): ${opts.rawN} rows in ${secs.toFixed(2)} s = ${fmtRate(opts.rawN / secs)} (${cpu.stop()})`);
      return opts.rawN / secs;
    };
    const rawBefore = await rawRun('before');

    const cpu = cpuMeter();
    const intakeSecs = await runConcurrent(opts.n, opts.concurrency, (i) => intake(`bench:${i}`));
    const intakeRate = opts.n / intakeSecs;
    progress(`${kind} case intake: ${opts.n} cases in ${intakeSecs.toFixed(2)} s = ${fmtRate(intakeRate)} (${cpu.stop()})`);
    const rawRate = (rawBefore + (await rawRun('after'))) / 2;

    // Sanity: every intake made a case, an event, a follower and a route job.
    const [check] = await sql<{ cases: number; events: number }[]>`
      select (select count(*)::int from cases where intake_key like 'bench:%') as cases,
             (select count(*)::int from case_events e join cases c on c.id = e.case_id where c.intake_key like 'bench:%' and e.kind = 'submitted') as events`;
    if (check!.cases !== opts.n || check!.events !== opts.n) throw new Error(`intake check failed: ${JSON.stringify(check)}`);
    // Scheduling errors are only logged by intakeCase; make sure the route jobs really exist.
    const routeQueue = new env.backend.classes.Queue(JOBS.caseRoute.name, { ...env.backend.connectionOptions() } as any);
    const waiting = await routeQueue.getJobCountByTypes('wait', 'prioritized', 'delayed');
    await routeQueue.close();
    if (waiting !== opts.n + 220) throw new Error(`expected ${opts.n + 220} route jobs, found ${waiting}`);
    const ratio = intakeRate / rawRate;
    return [
      {
        backend: kind,
        metric: `case intake (c=${opts.concurrency}, ${perIntake} stmts/case)`,
        value: fmtRate(intakeRate),
        raw: `INSERT ${fmtRate(rawRate)} (mean)`,
        ratio: fmtRatio(ratio),
        // The aims are for the Redis backend; the PostgreSQL rows are shown against them.
        aim: kind === 'redis' ? `≥ ${INTAKE_AIM}` : `(≥ ${INTAKE_AIM} on redis)`,
        ok: kind === 'redis' ? ratio >= INTAKE_AIM : undefined,
      },
    ];
  } finally {
    await env.close();
  }
}
