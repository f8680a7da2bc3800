import type postgres from 'postgres';

/**
 * Transactions whose BEGIN travels with their first statement. postgres.js's `sql.begin` sends
 * BEGIN and waits for its answer before running the work, so every transaction pays one round
 * trip (a socket write and a wake-up on both sides) for BEGIN alone; in a web chat turn that was
 * one of six round trips per reply, and socket writes to PostgreSQL were a fifth of the app's CPU.
 * Here BEGIN is queued on a reserved connection without waiting, so postgres.js pipelines it with
 * whatever the work sends first; the statements still run in order on that one connection, so
 * everything after BEGIN is inside the transaction. BEGIN is queued with the work's first
 * statement, not before: a transaction that sends nothing (a sign-up whose seat is claimed by the
 * group commit, src/activities/seat-batch.ts) sends neither BEGIN nor COMMIT, two round trips saved.
 *
 * The work may return with its last statement still in flight (the dialog engine's turn: the
 * chat's state and replies, src/dialog/engine.ts): COMMIT is then queued right behind it and
 * both travel in one round trip; should that statement fail, PostgreSQL answers the COMMIT with
 * a ROLLBACK, and the transaction fails with the statement's error.
 *
 * What postgres.js's begin guarantees is kept: a statement that failed fails the transaction even
 * if the work caught its error (PostgreSQL would otherwise answer COMMIT of an aborted transaction
 * with a silent ROLLBACK), the work's error rolls back, savepoints (drizzle's nested
 * `tx.transaction`) roll back alone, and the connection goes back to the pool either way.
 */
export async function pipelinedBegin<T>(
  pool: postgres.Sql,
  work: (tx: postgres.TransactionSql) => T | Promise<T>,
  wrap: (tx: postgres.TransactionSql) => postgres.TransactionSql,
): Promise<T> {
  const conn = await pool.reserve();
  let savepoints = 0;
  // The outermost scope's statements: one the work left in flight when it returned travels with
  // COMMIT, and is waited for after it.
  const sent: Promise<unknown>[] = [];
  let begun: Promise<unknown> | undefined;
  const quietly = (q: Promise<unknown>) => q.then(() => {}, () => {});
  // Queued just before the work's first statement; postgres.js writes them together.
  const begin = () => {
    if (begun) return;
    begun = conn.unsafe('begin').execute();
    // Its failure is reported where the work ends (awaited there); not an unhandled rejection meanwhile.
    begun.catch(() => {});
  };
  try {
    const scope = async <R>(fn: (tx: postgres.TransactionSql) => R | Promise<R>, name?: string): Promise<R> => {
      let failed: unknown;
      const onSent = name ? undefined : (q: Promise<unknown>) => void sent.push(q);
      const handle = scoped(conn, begin, (e) => (failed ??= e), (inner) => scope(inner, `s${savepoints++}`), onSent);
      if (name) await conn.unsafe(`savepoint ${name}`);
      try {
        const result = await fn(handle);
        if (failed !== undefined) throw failed;
        if (name) await conn.unsafe(`release savepoint ${name}`);
        return result;
      } catch (err) {
        // The work's own error is the one to report, not a rollback's on a broken connection.
        if (begun) await quietly(conn.unsafe(name ? `rollback to savepoint ${name}` : 'rollback'));
        throw err;
      }
    };
    const result = await scope(async (tx) => {
      const out = await work(wrap(tx));
      // A BEGIN that failed fails the transaction (its statements failed after it anyway).
      await begun;
      return out;
    });
    if (begun) await conn.unsafe('commit');
    // A statement still in flight when the work returned (sent ahead of COMMIT, one round trip
    // for both) that failed: PostgreSQL answered that COMMIT with a ROLLBACK, so nothing committed.
    await settledOrThrow(sent);
    return result;
  } finally {
    conn.release();
  }
}

/**
 * Pipelined statements, every one settled (none left unobserved) before the first failure is
 * thrown; otherwise their results, in order. Also the group commit's (src/work/group-commit.ts).
 */
export async function settledOrThrow<T>(sent: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(sent);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * The reserved connection as one scope of the transaction sees it: every statement it sends
 * reports its failure to `failed`; `savepoint` opens a nested scope.
 */
function scoped(
  conn: postgres.ReservedSql,
  begin: () => void,
  failed: (err: unknown) => void,
  savepoint: (fn: (tx: postgres.TransactionSql) => unknown) => Promise<unknown>,
  sent?: (q: Promise<unknown>) => void,
): postgres.TransactionSql {
  // A query runs once awaited (postgres.js executes it then), so BEGIN queued here goes first.
  const track = <Q>(q: Q): Q => {
    if (q instanceof Promise) {
      begin();
      q.catch(failed);
      sent?.(q);
    }
    return q;
  };
  return new Proxy(conn, {
    // sql`…` (helpers such as sql(name) return no query and are passed through).
    apply: (target, _this, args: unknown[]) => track((target as unknown as (...a: unknown[]) => unknown)(...args)),
    get(target, prop) {
      if (prop === 'unsafe') {
        return (...args: Parameters<postgres.Sql['unsafe']>) => track(target.unsafe(...args));
      }
      if (prop === 'savepoint') {
        return (fn: (tx: postgres.TransactionSql) => unknown) => {
          begin();
          return savepoint(fn);
        };
      }
      if (prop === 'begin' || prop === 'release' || prop === 'reserve') throw new Error(`${String(prop)} is not available inside a transaction`);
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as unknown as postgres.TransactionSql;
}
