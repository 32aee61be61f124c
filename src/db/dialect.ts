/**
 * The few things the two engines write differently, beside connecting and transactions (the
 * engine modules): a list bound as one parameter, the count of rows a write changed, row locks,
 * and an order's change written in one statement on PostgreSQL.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db, RawQuery, Tx } from './client.ts';

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

/** What one change of an order writes: the order's changed fields, its timeline entry, its events. */
export interface OrderChange {
  order: {
    id: string;
    status: string;
    reason: string | null;
    paymentStatus: string;
    stockStatus: string;
    trackingNumber: string | null;
    chargeId: string | null;
  };
  /** The change's time: the order's updatedAt, the entry's time, and the events' createdAt. */
  at: number;
  entry: { type: string; from: string | null; to: string; data: string | null };
  events: { type: string; delayMs: number }[];
  traceparent: string | null;
}

/**
 * PostgreSQL: the order's update, its timeline entry and its outbox rows in one statement (one
 * round trip where there were three or more; data-modifying CTEs). The events are inserted in
 * their order, so their ids rise with it; the ids come back in that order.
 */
const WRITE_CHANGE = `WITH changed AS (
  UPDATE orders SET status = $2, reason = $3, payment_status = $4, stock_status = $5,
    tracking_number = $6, charge_id = $7, updated_at = $8
  WHERE id = $1
), entry AS (
  INSERT INTO order_events (order_id, type, from_status, to_status, at, data)
  VALUES ($1, $9, $10, $11, $8, $12::json)
)
INSERT INTO outbox (order_id, type, created_at, run_at, redrive, traceparent)
SELECT $1, e.type, $8, $8 + e.delay_ms, 0, $13
FROM unnest($14::text[], $15::bigint[]) WITH ORDINALITY AS e(type, delay_ms, n)
ORDER BY e.n
RETURNING id`;

export async function writeChangeInOneStatement(rawQuery: RawQuery, change: OrderChange): Promise<number[]> {
  const { order, at, entry, events } = change;
  const { rows } = await rawQuery({
    name: 'order_change',
    text: WRITE_CHANGE,
    values: [
      order.id,
      order.status,
      order.reason,
      order.paymentStatus,
      order.stockStatus,
      order.trackingNumber,
      order.chargeId,
      at,
      entry.type,
      entry.from,
      entry.to,
      entry.data,
      change.traceparent,
      events.map((e) => e.type),
      events.map((e) => e.delayMs),
    ],
  });
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}
