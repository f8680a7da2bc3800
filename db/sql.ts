import { sql, type Column, type Query, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';

const dialect = new PgDialect();

/** A statement's text and parameters, for the few built once and sent without drizzle's builder (first-ballot.ts, seat-batch.ts). */
export const toQuery = (q: SQL): Query => dialect.sqlToQuery(q);

/**
 * `column = any($1)`: the list as one array parameter, so the statement text — and the prepared
 * statement PostgreSQL keeps for it (db/client.ts) — is the same whatever the list's length.
 * drizzle's inArray writes `in ($1, $2, …)`, a new statement to parse and plan for every length.
 * An empty list matches nothing.
 */
export function anyOf(column: Column | SQL, values: readonly unknown[]): SQL {
  return sql`${column} = any(${sql.param([...values])})`;
}
