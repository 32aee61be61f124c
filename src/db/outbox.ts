/**
 * The transactional outbox: events are written in the same transaction as the state change that
 * causes them, and the relay (src/relay.ts) moves them to the queues afterwards.
 */
import { and, asc, isNull, lt, sql } from 'drizzle-orm';
import type { OutboxEvent } from '../domain/events.ts';
import { currentTraceparent } from '../telemetry/tracing.ts';
import { writeOne, writeTx, type Db, type Tx } from './client.ts';
import { forUpdate, listValue, rowsChanged } from './dialect.ts';
import type { OutboxRow } from './outbox-row.ts';
import type { Tables } from './tables/index.ts';
import { statements } from './statements.ts';

/**
 * Writes an event to the outbox; call inside the transaction that causes it. `redrive` marks the
 * reconciler's rows, whose jobs must run again even when an earlier one with their id is kept.
 * Where traces are exported, the row carries the active span's context (the request's, or the job's).
 */
export async function emit(tx: Tx, orderId: string, type: OutboxEvent, now: number, delayMs = 0, redrive = false): Promise<void> {
  const flag = redrive ? 1 : 0;
  const traceparent = currentTraceparent();
  const [{ id }] = (await statements(tx).emit.execute({
    orderId,
    type,
    createdAt: now,
    runAt: now + delayMs,
    redrive: flag,
    traceparent,
  })) as [{ id: number }];
  remember(tx, { id, orderId, type, at: now, delayMs, redrive: flag, traceparent });
}

/** An outbox row as its writer knows it: written `at`, due `delayMs` later. */
export interface WrittenEvent {
  id: number;
  orderId: string;
  type: OutboxEvent;
  at: number;
  delayMs?: number;
  redrive?: number;
  traceparent: string | null;
}

/** Hands a row written in `tx` to this process's relay once `tx` commits. */
export function remember(tx: Tx, event: WrittenEvent): void {
  const { at, delayMs = 0, redrive = 0, ...rest } = event;
  const row: OutboxRow = { ...rest, createdAt: at, runAt: at + delayMs, redrive };
  // Each connection keeps the rows it committed: a process's relay sends its own rows at once,
  // without reading them back, and leaves other processes' rows to them.
  tx.afterCommit(() => tx.connection.committedOutbox.push(row));
}

/** Hands over (and forgets) the rows this connection committed since the last call. */
export function takeCommittedOutbox(db: Db): OutboxRow[] {
  return db.connection.committedOutbox.splice(0);
}

/** The columns of an OutboxRow. */
const outboxRow = ({ outbox }: Tables) => ({
  id: outbox.id,
  orderId: outbox.orderId,
  type: outbox.type,
  createdAt: outbox.createdAt,
  runAt: outbox.runAt,
  redrive: outbox.redrive,
  traceparent: outbox.traceparent,
});

/**
 * The oldest events not yet handed to a queue; with `writtenBefore`, only those written before
 * then (left behind by someone). With `skipLocked`, inside a transaction, the rows are locked
 * and those another transaction holds are skipped (PostgreSQL; dialect.ts `forUpdate`).
 */
export async function pendingOutbox(
  db: Db | Tx,
  limit: number,
  writtenBefore?: number,
  options: { skipLocked?: boolean } = {},
): Promise<OutboxRow[]> {
  const { outbox } = db.tables;
  const query = db
    .select(outboxRow(db.tables))
    .from(outbox)
    .where(and(isNull(outbox.dispatchedAt), writtenBefore === undefined ? undefined : lt(outbox.createdAt, writtenBefore)))
    .orderBy(asc(outbox.id))
    .limit(limit);
  return (await (options.skipLocked ? forUpdate(db, query, { skipLocked: true }) : query)) as OutboxRow[];
}

/** Marks rows handed to a queue; `db` may be a transaction (the sweep's) or a handle. */
export async function markDispatched(db: Db | Tx, ids: readonly number[], now: number): Promise<void> {
  if (ids.length === 0) return;
  if ('afterCommit' in db) {
    await statements(db).markDispatched.execute({ ids: listValue(db, ids), at: now });
    return;
  }
  await writeOne(db, async (handle) => {
    await statements(handle).markDispatched.execute({ ids: listValue(handle, ids), at: now });
  });
}

/** Age in ms of the oldest undispatched event, or 0 when the outbox is drained. */
export async function outboxLagMs(db: Db, now: number): Promise<number> {
  const { outbox } = db.tables;
  const [row] = await db
    .select({ oldest: sql<number | null>`min(${outbox.createdAt})` })
    .from(outbox)
    .where(isNull(outbox.dispatchedAt));
  return row?.oldest == null ? 0 : Math.max(0, now - row.oldest);
}

/** How many events wait for the relay. */
export async function pendingOutboxCount(db: Db): Promise<number> {
  const { outbox } = db.tables;
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(outbox).where(isNull(outbox.dispatchedAt));
  return row?.n ?? 0;
}

/** Deletes dispatched events older than `before`, so the table does not grow without end. */
export async function pruneOutbox(db: Db, before: number): Promise<number> {
  const { outbox } = db.tables;
  // A NULL dispatched_at (still waiting) is never less than `before`.
  return writeTx(db, async (tx) => rowsChanged(await tx.delete(outbox).where(lt(outbox.dispatchedAt, before))));
}
