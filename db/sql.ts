import { sql, type Column, type SQL } from 'drizzle-orm';

/**
 * `column = any($1)`: the list as one array parameter, so the statement text — and the prepared
 * statement PostgreSQL keeps for it (db/client.ts) — is the same whatever the list's length.
 * drizzle's inArray writes `in ($1, $2, …)`, a new statement to parse and plan for every length.
 * An empty list matches nothing.
 */
export function anyOf(column: Column | SQL, values: readonly unknown[]): SQL {
  return sql`${column} = any(${sql.param([...values])})`;
}
