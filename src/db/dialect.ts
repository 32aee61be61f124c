/**
 * The few things the two engines write differently, beside connecting and transactions (the
 * engine modules) and the writes PostgreSQL does in one statement (engines/postgres-writes.ts): a
 * list bound as one parameter, the count of rows a write changed, and row locks.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db, Tx } from './client.ts';

/**
 * `column` is one of the list bound to the placeholder `name` (give its value with `listValue`):
 * one statement for any number of values, where IN (…) would compile one per length.
 */
export function oneOf(db: Db | Tx, column: AnyColumn, name: string): SQL {
  const list = sql.placeholder(name);
  return db.connection.engine === 'postgres'
    ? sql`${column} = ANY(${list})`
    : sql`${column} IN (SELECT value FROM json_each(${list}))`;
}

/** A list's value for a `oneOf` placeholder: an array for PostgreSQL, JSON text for SQLite. */
export function listValue(db: Db | Tx, values: readonly (string | number)[]): unknown {
  return db.connection.engine === 'postgres' ? values : JSON.stringify(values);
}

/** How many rows an UPDATE or DELETE without RETURNING changed, whichever engine ran it. */
export function rowsChanged(result: unknown): number {
  const { changes, rowCount } = result as { changes?: number; rowCount?: number | null };
  return changes ?? rowCount ?? 0;
}

/**
 * On PostgreSQL, locks the rows `query` selects (FOR UPDATE) until the transaction ends: another
 * transaction that wants them waits for this one or, with `skipLocked`, leaves them to it (hosts
 * sweeping the same table never do the same work). SQLite has one writer at a time and no such
 * clause: the query runs as it is.
 */
export function forUpdate<Q extends { for(strength: 'update', config?: { skipLocked?: boolean }): PromiseLike<unknown> }>(
  db: Db | Tx,
  query: Q,
  { skipLocked = false } = {},
): Q | ReturnType<Q['for']> {
  if (db.connection.engine !== 'postgres') return query;
  return query.for('update', skipLocked ? { skipLocked } : {}) as ReturnType<Q['for']>;
}
