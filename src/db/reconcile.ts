/**
 * The reconciler's reads and writes: find orders that have not moved for a while although they
 * wait on us, and re-emit, through the outbox, the events their state calls for.
 *
 * Safe from any number of processes at once: each batch is one write transaction that checks,
 * per order, that nothing is already on its way (an undispatched event, or any event written
 * since the cut-off), so concurrent runs re-drive an order once per STUCK_AFTER_MS at most.
 */
import { and, asc, eq, gt, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { OutboxEvent } from '../domain/events.ts';
import {
  eventForNotification,
  MESSAGE_EVIDENCE,
  type MessageEvidence,
  MOVING_STATUSES,
  ORDER_STATUSES,
  owedNotifications,
  redriveEvents,
} from '../domain/order-machine.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { forUpdate } from './dialect.ts';
import { sentKinds } from './notifications.ts';
import { subjectMessageCandidates, unsentSubjectEvents } from './subject-reconcile.ts';
import { emit } from './outbox.ts';
import type { OrderRow } from './schema.ts';
import type { Tables } from './tables/index.ts';
import { literals, unsettled } from './tables/unsettled.ts';

export interface RedrivenOrder {
  orderId: string;
  status: string;
  events: OutboxEvent[];
}

export interface ReconcileOptions {
  now: number;
  /** An order is stuck when it has not moved for this long. */
  stuckAfterMs: number;
  /**
   * Orders that came to rest after this time are checked for messages they are still owed; the
   * periodic runner moves it forward pass by pass so that no order is read twice. Default: an hour
   * before the cut-off.
   */
  settledSince?: number;
  batchSize?: number;
}

const HOUR_MS = 60 * 60 * 1000;

/** The orders that stopped moving, each with the events it waits for. Reads only. */
export async function findStuck(db: Db, options: ReconcileOptions): Promise<RedrivenOrder[]> {
  const cutoff = options.now - options.stuckAfterMs;
  const limit = options.batchSize ?? 500;
  const candidates = [
    ...(await stuckOrders(db, cutoff, limit)),
    ...(await recentlySettled(db, cutoff, options.settledSince ?? cutoff - HOUR_MS, limit)),
    ...(await subjectMessageCandidates(
      db,
      cutoff,
      options.settledSince ?? cutoff - HOUR_MS,
      limit,
      nothingOnItsWay(db.tables, cutoff),
    )),
  ];
  const found = new Map<string, RedrivenOrder>();
  for (const order of candidates) {
    const events = await eventsFor(db, order);
    if (events.length > 0) found.set(order.id, { orderId: order.id, status: order.status, events });
  }
  return [...found.values()];
}

/**
 * Re-emits what each of these orders waits for, in one transaction that re-reads every order:
 * another process may have moved it, or re-driven it, since it was found. On PostgreSQL each order
 * is taken FOR UPDATE SKIP LOCKED: one another host's batch holds is left to that batch
 * (`REDRIVE_TX` says why the batch reads committed rows).
 */
export function redrive(db: Db, stuck: readonly RedrivenOrder[], options: ReconcileOptions): Promise<RedrivenOrder[]> {
  if (stuck.length === 0) return Promise.resolve([]);
  const cutoff = options.now - options.stuckAfterMs;
  return writeTx(
    db,
    async (tx) => {
      const { orders } = tx.tables;
      const done: RedrivenOrder[] = [];
      const still = await forUpdate(
        tx,
        tx
          .select()
          .from(orders)
          .where(
            and(
              inArray(
                orders.id,
                stuck.map((s) => s.orderId),
              ),
              // Still stuck by the same test that found it: still, and nothing on its way.
              lt(orders.updatedAt, cutoff),
              nothingOnItsWay(tx.tables, cutoff),
            ),
          )
          .orderBy(asc(orders.id)),
        { skipLocked: true },
      );
      for (const order of still) {
        const events = await eventsFor(tx, order);
        if (events.length === 0) continue;
        for (const event of events) await emit(tx, order.id, event, options.now, 0, true);
        done.push({ orderId: order.id, status: order.status, events });
      }
      return done;
    },
    REDRIVE_TX,
  );
}

/**
 * On PostgreSQL a batch runs at READ COMMITTED: it decides on an order by what the outbox holds
 * for it, and writes to the outbox, not to the order's row. The row it holds (FOR UPDATE SKIP
 * LOCKED) keeps a concurrent batch off it while it runs; a batch that takes it after this one
 * committed must see the rows this one wrote, which a snapshot taken before that commit would not.
 */
const REDRIVE_TX = { isolation: 'read committed' } as const;

async function eventsFor(db: Db | Tx, order: OrderRow): Promise<OutboxEvent[]> {
  // An order awaiting shipment may need InventoryReserved for both its shipment and its confirmation.
  return [
    ...new Set([
      ...redriveEvents(order),
      ...(await missingNotifications(db, order)),
      ...(await unsentSubjectEvents(db, order.id)),
    ]),
  ];
}

/** The statuses in which an order has come to rest (ended, or waiting on the carrier's delivery). */
const RESTING_STATUSES = ORDER_STATUSES.filter((s) => !MOVING_STATUSES.includes(s));

/** A payment or stock still to settle, as the partial index orders_unsettled_idx says it (SQLite uses it). */
function toSettle({ orders }: Tables): SQL {
  return sql`(${unsettled(orders)})`;
}

/**
 * Stuck: not at rest (still moving, or a payment or stock to settle) and not moved since
 * `cutoff`. The reconciler re-drives such orders unless something is already on its way; the
 * operations console lists them all, since an order re-driven in vain is still stuck.
 */
export function stuckSince(tables: Tables, cutoff: number): SQL {
  const { orders } = tables;
  return and(or(inArray(orders.status, MOVING_STATUSES), toSettle(tables)), lt(orders.updatedAt, cutoff))!;
}

/** Not ended, or ended with a payment or stock still to settle, and still since the cut-off. */
async function stuckOrders(db: Db, cutoff: number, limit: number): Promise<OrderRow[]> {
  const { orders } = db.tables;
  const moving = await db
    .select()
    .from(orders)
    .where(and(inArray(orders.status, MOVING_STATUSES), lt(orders.updatedAt, cutoff), nothingOnItsWay(db.tables, cutoff)))
    .orderBy(asc(orders.updatedAt))
    .limit(limit);
  const unsettled = await db
    .select()
    .from(orders)
    .where(
      and(
        // No status filter, which would tempt the planner into scanning every old ended order.
        toSettle(db.tables),
        lt(orders.updatedAt, cutoff),
        nothingOnItsWay(db.tables, cutoff),
      ),
    )
    .orderBy(asc(orders.updatedAt))
    .limit(limit);
  return [...moving, ...unsettled];
}

/**
 * Orders that came to rest within the look-back window without a message they are owed. The SQL
 * narrows the search; `owedNotifications` decides, inside the transaction.
 */
function recentlySettled(db: Db, cutoff: number, since: number, limit: number): Promise<OrderRow[]> {
  const { orders, sentNotifications } = db.tables;
  const notSent = (kind: SQL) =>
    sql`NOT EXISTS (SELECT 1 FROM ${sentNotifications} WHERE ${sentNotifications.orderId} = ${orders.id} AND ${sentNotifications.kind} = ${kind})`;
  return db
    .select()
    .from(orders)
    .where(
      and(
        inArray(orders.status, RESTING_STATUSES),
        gt(orders.updatedAt, since),
        lt(orders.updatedAt, cutoff),
        or(
          // One clause per piece of evidence that a message is owed (lifecycle/notifications.ts).
          ...MESSAGE_EVIDENCE.map((e) => and(shownBy(orders, e), notSent(sql`${e.kind}`))),
        ),
        nothingOnItsWay(db.tables, cutoff),
      ),
    )
    .orderBy(asc(orders.updatedAt))
    .limit(limit);
}

/** The SQL twin of lifecycle/notifications.ts `shows`: the order's row holds `evidence`. */
function shownBy(orders: Tables['orders'], evidence: MessageEvidence): SQL | undefined {
  switch (evidence.by) {
    case 'statuses':
      return inArray(orders.status, evidence.statuses);
    case 'reason':
      return and(eq(orders.status, evidence.status), eq(orders.reason, evidence.reason));
    case 'stockMoved':
      return sql`${orders.stockStatus} <> ${literals([evidence.from])}`;
    case 'paymentStatus':
      return eq(orders.paymentStatus, evidence.paymentStatus);
    default: {
      const unread: never = evidence;
      throw new Error(`unread message evidence ${JSON.stringify(unread)}`);
    }
  }
}

/** No event for the order waits for the relay, and none was written since the cut-off. */
function nothingOnItsWay({ orders, outbox }: Tables, cutoff: number): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM ${outbox} WHERE ${outbox.orderId} = ${orders.id} AND (${outbox.dispatchedAt} IS NULL OR ${outbox.createdAt} > ${cutoff}))`;
}

async function missingNotifications(db: Db | Tx, order: OrderRow): Promise<OutboxEvent[]> {
  const owed = owedNotifications(order);
  if (owed.length === 0) return [];
  const sent = await sentKinds(db, order.id);
  return owed.filter((kind) => !sent.has(kind)).map(eventForNotification);
}
