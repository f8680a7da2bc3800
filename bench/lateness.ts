import { JOBS } from '../jobs/registry.js';
import { startWorkers } from '../jobs/workers.js';
import { caseDeadlineSpec } from '../src/cases/run.js';
import { chunks, createEnv, fmtMs, logger, percentile, progress, settings, waitUntil, type BackendKind, type BenchEnv, type ResultRow } from './common.js';

export const LATENESS_AIM_MS = 1000;

/**
 * Escalation lateness with `timers` deadline timers pending. Every timer belongs to a real case
 * (bulk-inserted: status 'assigned', level grid, deadline_seq 1, reporter following) and is a
 * real timer row armed through the unit of work (src/timers), with its wake-up job. `due` of
 * them fall due evenly over the next `windowS` seconds; the rest lie 1–72 h ahead and stay
 * pending in the same table throughout. The real timer-wake job (its registry concurrency)
 * escalates them in batches; lateness is the 'escalated' event's `at` minus the case's due_at.
 * Then, with the far timers still pending, `burst` more timers fall due at one instant (bench
 * (f): aim all escalated within 1 s on Redis).
 */
export async function benchLateness(
  kind: BackendKind,
  opts: { timers: number; due: number; windowS: number; burst: number; concurrency?: number },
): Promise<ResultRow[]> {
  const env = await createEnv(kind);
  try {
    const due = Math.min(opts.due, opts.timers);
    const far = opts.timers - due;
    const { database } = env;
    const sql = database.sql;
    await sql`create table bench_due (case_id uuid primary key, due_at timestamptz not null, tag text not null)`;

    // 1. The timers that stay pending: cases due 1–72 h ahead, their jobs added in batches.
    const t0 = performance.now();
    const farRows = await insertCases(env, 'far', far, Date.now() + 3_600_000, 71 * 3_600_000);
    const insertSecs = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    for (const part of chunks(farRows, 1000)) await arm(env, part);
    const scheduleSecs = (performance.now() - t1) / 1000;
    const scheduleRate = far / Math.max(scheduleSecs, 0.001);
    progress(`${kind} lateness: ${far} far cases inserted in ${insertSecs.toFixed(1)} s, their timers added in ${scheduleSecs.toFixed(1)} s (${scheduleRate.toFixed(0)}/s)`);

    // 2. The deadline worker, started with the far timers already pending.
    const concurrency = opts.concurrency ?? JOBS.timerWake.concurrency!;
    const workers = await startWorkers({
      backend: env.backend,
      database,
      adapters: new Map(),
      producer: env.jobs,
      config: env.config,
      logger,
      caseSettings: settings,
      // Only the wake-up path: the timer sweep (5 s in production) would also fire due timers.
      jobs: [{ ...JOBS.timerWake, concurrency }],
    });
    const escalatedOf = async (tag: string) =>
      (await sql<{ n: number }[]>`select count(*)::int as n from case_events e join bench_due b using (case_id) where e.kind = 'escalated' and b.tag = ${tag}`)[0]!.n;

    /** `count` timers due over [now + lead, now + lead + spanMs), then waits for their escalations. */
    const measure = async (tag: string, count: number, spanMs: number) => {
      const leadMs = Math.max(5000, Math.ceil((2 * count * 1000) / scheduleRate) + 2000);
      const base = Date.now() + leadMs;
      const rows = await insertCases(env, tag, count, base, spanMs);
      await sql`insert into bench_due (case_id, due_at, tag) select id, due_at, ${tag} from cases where location_label = ${tag}`;
      for (const part of chunks(rows, 1000)) await arm(env, part);
      const addedInTime = Date.now() < base;
      const pending = (await sql<{ n: number }[]>`select count(*)::int as n from timers`)[0]!.n;
      progress(`${kind} lateness[${tag}]: ${pending} timers pending; ${count} fall due over ${spanMs / 1000} s from ${((base - Date.now()) / 1000).toFixed(1)} s on (c=${concurrency})`);
      let timedOut = false;
      // When escalations became visible (committed), polled: an event's `at` is the time its
      // batch began, so it says nothing of how long the batch took to commit.
      const seen: { ms: number; n: number }[] = [];
      try {
        await waitUntil(
          async () => {
            const n = await escalatedOf(tag);
            seen.push({ ms: Date.now() - base, n });
            return n >= count;
          },
          'escalations',
          leadMs + spanMs + 180_000,
          spanMs === 0 ? 20 : 250,
        );
      } catch {
        timedOut = true;
      }
      const visibleBy = (share: number) => seen.find((s) => s.n >= Math.ceil(count * share))?.ms ?? NaN;
      const late = (
        await sql<{ ms: number }[]>`
          select (extract(epoch from (e.at - b.due_at)) * 1000)::float8 as ms
          from case_events e join bench_due b using (case_id)
          where e.kind = 'escalated' and b.tag = ${tag} order by 1`
      ).map((r) => r.ms);
      const [span] = await sql<{ secs: number }[]>`
        select extract(epoch from (max(e.at) - min(b.due_at)))::float8 as secs
        from case_events e join bench_due b using (case_id) where e.kind = 'escalated' and b.tag = ${tag}`;
      const stats = {
        pending,
        p50: percentile(late, 50),
        p99: percentile(late, 99),
        max: late.at(-1) ?? NaN,
        min: late[0] ?? NaN,
        drainSecs: span!.secs,
        committed: { p50: visibleBy(0.5), p99: visibleBy(0.99), all: visibleBy(1) },
      };
      progress(
        `${kind} lateness[${tag}]: p50 ${fmtMs(stats.p50)} p99 ${fmtMs(stats.p99)} max ${fmtMs(stats.max)} min ${fmtMs(stats.min)}; last escalation ${stats.drainSecs.toFixed(1)} s after the first due time; committed (polled): half ${fmtMs(stats.committed.p50)}, 99 % ${fmtMs(stats.committed.p99)}, all ${fmtMs(stats.committed.all)} after it${timedOut ? ' (TIMED OUT)' : ''}${addedInTime ? '' : ' (timers were still being added at the first due time)'}`,
      );
      return stats;
    };

    const steady = await measure('due', due, opts.windowS * 1000);
    const burst = opts.burst > 0 ? await measure('burst', opts.burst, 0) : undefined;
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would show up now
    await workers.close();

    const [counts] = await sql<{ once: number; twice: number; far: number }[]>`
      with per as (select e.case_id, count(*) as n from case_events e where e.kind = 'escalated' group by e.case_id)
      select (select count(*)::int from per join bench_due b using (case_id) where per.n = 1) as once,
             (select count(*)::int from per where per.n > 1) as twice,
             (select count(*)::int from per where per.case_id not in (select case_id from bench_due)) as far`;
    const expected = due + (burst ? opts.burst : 0);
    const exact = counts!.once === expected && counts!.twice === 0 && counts!.far === 0;
    progress(`${kind} lateness: escalated exactly once ${counts!.once}/${expected}, more than once ${counts!.twice}, not yet due but escalated ${counts!.far}`);
    const rows: ResultRow[] = [
      {
        backend: kind,
        metric: `escalation lateness p50 (${(steady.pending / 1000).toFixed(0)}k pending, ${due} due over ${opts.windowS} s, c=${concurrency})`,
        value: fmtMs(steady.p50),
        raw: '-',
        ratio: '-',
        aim: '-',
      },
      {
        backend: kind,
        metric: `escalation lateness p99 (max ${fmtMs(steady.max)})`,
        value: fmtMs(steady.p99),
        raw: '-',
        ratio: '-',
        aim: kind === 'redis' ? `≤ ${fmtMs(LATENESS_AIM_MS)}` : `(≤ ${fmtMs(LATENESS_AIM_MS)} on redis)`,
        ok: kind === 'redis' ? steady.p99 <= LATENESS_AIM_MS : undefined,
      },
    ];
    if (burst) {
      rows.push({
        backend: kind,
        metric: `burst: ${opts.burst} due at one instant, p50 / p99`,
        value: `${fmtMs(burst.p50)} / ${fmtMs(burst.p99)}`,
        raw: `drain ${(opts.burst / Math.max(burst.drainSecs, 0.001)).toFixed(0)}/s`,
        ratio: '-',
        aim: kind === 'redis' ? `all ≤ 1 s (max ${fmtMs(burst.max)})` : `(all ≤ 1 s on redis; max ${fmtMs(burst.max)})`,
        ok: kind === 'redis' ? burst.max <= 1000 : undefined,
      });
      rows.push({
        backend: kind,
        metric: `burst: committed (visible, polled every 20 ms), half / 99 % / all`,
        value: `${fmtMs(burst.committed.p50)} / ${fmtMs(burst.committed.p99)} / ${fmtMs(burst.committed.all)}`,
        raw: `drain ${(opts.burst / Math.max(burst.committed.all / 1000, 0.001)).toFixed(0)}/s`,
        ratio: '-',
        aim: kind === 'redis' ? 'all ≤ 1 s' : '(all ≤ 1 s on redis)',
        ok: kind === 'redis' ? burst.committed.all <= 1000 : undefined,
      });
    }
    rows.push({
      backend: kind,
      metric: 'escalated exactly once',
      value: `${counts!.once}/${expected}`,
      raw: '-',
      ratio: '-',
      aim: `${expected}/${expected}, 0 early`,
      ok: exact,
    });
    return rows;
  } finally {
    await env.close();
  }
}

type TimerRow = { id: string; due_ms: string };

/** Arms the cases' deadline timers as a command does: rows in one unit of work, wake-ups after commit. */
const arm = (env: BenchEnv, rows: TimerRow[]) =>
  env.work.run((uow) => uow.timers.setMany(rows.map((r) => caseDeadlineSpec({ kind: 'escalate', caseId: r.id, seq: 1, at: new Date(Number(r.due_ms)) }))));

/** `count` assigned cases with their reporter following, due evenly over [startMs, startMs + spanMs). */
async function insertCases(env: BenchEnv, tag: string, count: number, startMs: number, spanMs: number): Promise<TimerRow[]> {
  if (count === 0) return [];
  const sql = env.database.sql;
  const { town, who } = env;
  return sql.begin(async (tx) => {
    const rows = await tx<TimerRow[]>`
      insert into cases (number, intake_key, community_id, grid_id, place_id, category_id, priority, description, reporter_id, first_unit_id,
                         status, level, assignee_id, assignee_unit_id, due_at, deadline_seq, escalated_seq, location_label, created_at, updated_at)
      select 'B-' || ${tag}::text || '-' || i, 'bench:' || ${tag}::text || ':' || i, ${town.community.id}, ${town.grid.id}, ${town.households[0]!.id},
             ${env.environmentCategory}, 'normal', '楼道里堆满了杂物', ${who.resident}::uuid, ${town.community.id},
             'assigned', 'grid', ${who.worker}::uuid, ${town.grid.id},
             timestamptz 'epoch' + ((${startMs}::bigint + (i - 1) * ${spanMs}::bigint / ${count}::bigint) * interval '1 millisecond'),
             1, 0, ${tag}::text, now(), now()
      from generate_series(1, ${count}::int) i
      returning id, (extract(epoch from due_at) * 1000)::bigint::text as due_ms`;
    await tx`insert into case_followers (case_id, person_id, since) select id, reporter_id, created_at from cases where location_label = ${tag}`;
    await tx`
      insert into case_events (case_id, kind, actor_id, from_status, to_status, level, details, at)
      select id, 'submitted'::case_event_kind, reporter_id, 'submitted'::case_status, 'submitted'::case_status, 'grid'::escalation_level, '{}'::jsonb, created_at
      from cases where location_label = ${tag}
      union all
      select id, 'assigned'::case_event_kind, null, 'submitted'::case_status, 'assigned'::case_status, 'grid'::escalation_level, '{}'::jsonb, created_at
      from cases where location_label = ${tag}`;
    return [...rows];
  });
}
