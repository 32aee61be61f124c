/**
 * The transactional outbox: events are written in the same transaction as the state change that
 * causes them, and the relay (src/relay.ts) moves them to the queues afterwards.
 */
import { and, asc, isNull, lt, sql } from 'drizzle-orm';
import type { OutboxEvent } from '../domain/events.ts';
import { currentTraceparent } from '../telemetry/tracing.ts';
import type { Db, Tx } from './client.ts';
import type { OutboxRow } from './outbox-row.ts';
import { statements } from './statements.ts';
import { outbox } from './schema.ts';

/**
 * Writes an event to the outbox; call inside the transaction that causes it. `redrive` marks the
 * reconciler's rows, whose jobs must run again even when an earlier one with their id is kept.
 * Where traces are exported, the row carries the active span's context (the request's, or the job's).
 */
export function emit(tx: Tx, orderId: string, type: OutboxEvent, now: number, delayMs = 0, redrive = false): void {
  const flag = redrive ? 1 : 0;
  const traceparent = currentTraceparent();
  const { id } = statements(tx).emit.get({ orderId, type, createdAt: now, runAt: now + delayMs, redrive: flag, traceparent })!;
  const row: OutboxRow = { id, orderId, type, createdAt: now, runAt: now + delayMs, redrive: flag, traceparent };
  // Each connection keeps the rows it committed: a process's relay sends its own rows at once,
  // without reading them back, and leaves other processes' rows to them.
  tx.afterCommit(() => tx.connection.committedOutbox.push(row));
}

/** Hands over (and forgets) the rows this connection committed since the last call. */
export function takeCommittedOutbox(db: Db): OutboxRow[] {
  return db.connection.committedOutbox.splice(0);
}

const OUTBOX_ROW = {
  id: outbox.id,
  orderId: outbox.orderId,
  type: outbox.type,
  createdAt: outbox.createdAt,
  runAt: outbox.runAt,
  redrive: outbox.redrive,
  traceparent: outbox.traceparent,
};

/**
 * The oldest events not yet handed to a queue; with `writtenBefore`, only those written before
 * then (left behind by someone).
 */
export function pendingOutbox(db: Db, limit: number, writtenBefore?: number): OutboxRow[] {
  return db
    .select(OUTBOX_ROW)
    .from(outbox)
    .where(and(isNull(outbox.dispatchedAt), writtenBefore === undefined ? undefined : lt(outbox.createdAt, writtenBefore)))
    .orderBy(asc(outbox.id))
    .limit(limit)
    .all() as OutboxRow[];
}

export function markDispatched(db: Db, ids: readonly number[], now: number): void {
  if (ids.length === 0) return;
  statements(db).markDispatched.run({ ids: JSON.stringify(ids), at: now });
}

/** Age in ms of the oldest undispatched event, or 0 when the outbox is drained. */
export function outboxLagMs(db: Db, now: number): number {
  const row = db
    .select({ oldest: sql<number | null>`min(${outbox.createdAt})` })
    .from(outbox)
    .where(isNull(outbox.dispatchedAt))
    .get();
  return row?.oldest == null ? 0 : Math.max(0, now - row.oldest);
}

/** How many events wait for the relay. */
export function pendingOutboxCount(db: Db): number {
  return db.select({ n: sql<number>`count(*)` }).from(outbox).where(isNull(outbox.dispatchedAt)).get()?.n ?? 0;
}

/** Deletes dispatched events older than `before`, so the table does not grow without end. */
export function pruneOutbox(db: Db, before: number): number {
  // A NULL dispatched_at (still waiting) is never less than `before`.
  return db.delete(outbox).where(lt(outbox.dispatchedAt, before)).run().changes;
}
