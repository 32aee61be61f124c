/**
 * A CHECK condition that a text column holds one of a fixed list of values, for the PostgreSQL
 * tables: drizzle's `enum` option types such a column but the database does not enforce it.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * `column IN ('a', 'b', ...)`, with the values written into the SQL as literals: drizzle-kit
 * writes a constraint's SQL text into the migration, where bound parameters cannot go.
 */
export function oneOf(column: AnyPgColumn, values: readonly string[]): SQL {
  const literals = values.map((value) => `'${value.replaceAll("'", "''")}'`).join(', ');
  return sql`${column} IN (${sql.raw(literals)})`;
}
