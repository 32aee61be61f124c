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
  HELD_STOCK,
  MESSAGE_EVIDENCE,
  MOVING_STATUSES,
  ORDER_STATUSES,
  owedNotifications,
  redriveEvents,
  UNSETTLED_PAYMENTS,
} from '../domain/order-machine.ts';
import { writeTx, type Db } from './client.ts';
import { sentKinds } from './notifications.ts';
import { emit } from './outbox.ts';
import { orders, outbox, sentNotifications, type OrderRow } from './schema.ts';

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
export function findStuck(db: Db, options: ReconcileOptions): RedrivenOrder[] {
  const cutoff = options.now - options.stuckAfterMs;
  const limit = options.batchSize ?? 500;
  const candidates = [
    ...stuckOrders(db, cutoff, limit),
    ...recentlySettled(db, cutoff, options.settledSince ?? cutoff - HOUR_MS, limit),
  ];
  const found = new Map<string, RedrivenOrder>();
  for (const order of candidates) {
    const events = eventsFor(db, order);
    if (events.length > 0) found.set(order.id, { orderId: order.id, status: order.status, events });
  }
  return [...found.values()];
}

/**
 * Re-emits what each of these orders waits for, in one transaction that re-reads every order:
 * another process may have moved it, or re-driven it, since it was found.
 */
export function redrive(db: Db, stuck: readonly RedrivenOrder[], options: ReconcileOptions): RedrivenOrder[] {
  if (stuck.length === 0) return [];
  const cutoff = options.now - options.stuckAfterMs;
  return writeTx(db, (tx) => {
    const done: RedrivenOrder[] = [];
    for (const { orderId } of stuck) {
      // Still stuck by the same test that found it: still, and nothing on its way.
      const order = tx
        .select()
        .from(orders)
        .where(and(eq(orders.id, orderId), lt(orders.updatedAt, cutoff), nothingOnItsWay(cutoff)))
        .get();
      if (!order) continue;
      const events = eventsFor(tx, order);
      if (events.length === 0) continue;
      for (const event of events) emit(tx, order.id, event, options.now, 0, true);
      done.push({ orderId: order.id, status: order.status, events });
    }
    return done;
  });
}

function eventsFor(db: Db, order: OrderRow): OutboxEvent[] {
  // An order awaiting shipment may need InventoryReserved for both its shipment and its confirmation.
  return [...new Set([...redriveEvents(order), ...missingNotifications(db, order)])];
}

/** The statuses in which an order has come to rest (ended, or waiting on the carrier's delivery). */
const RESTING_STATUSES = ORDER_STATUSES.filter((s) => !MOVING_STATUSES.includes(s));

/** A list of the domain's words as SQL literals: the planner matches a partial index on literals only. */
function literals(words: readonly string[]): SQL {
  return sql.raw(words.map((w) => `'${w}'`).join(', '));
}

/**
 * A payment or stock still to settle (order-machine.ts `hasSomethingToSettle`). Written as the
 * partial index orders_unsettled_idx says it, so that SQLite uses it.
 */
function toSettle(): SQL {
  const held = HELD_STOCK.length === 1 ? sql`= ${literals(HELD_STOCK)}` : sql`IN (${literals(HELD_STOCK)})`;
  return sql`(${orders.paymentStatus} IN (${literals(UNSETTLED_PAYMENTS)}) OR ${orders.stockStatus} ${held})`;
}

/**
 * Stuck: not at rest (still moving, or a payment or stock to settle) and not moved since
 * `cutoff`. The reconciler re-drives such orders unless something is already on its way; the
 * operations console lists them all, since an order re-driven in vain is still stuck.
 */
export function stuckSince(cutoff: number): SQL {
  return and(or(inArray(orders.status, MOVING_STATUSES), toSettle()), lt(orders.updatedAt, cutoff))!;
}

/** Not ended, or ended with a payment or stock still to settle, and still since the cut-off. */
function stuckOrders(db: Db, cutoff: number, limit: number): OrderRow[] {
  const moving = db
    .select()
    .from(orders)
    .where(and(inArray(orders.status, MOVING_STATUSES), lt(orders.updatedAt, cutoff), nothingOnItsWay(cutoff)))
    .orderBy(asc(orders.updatedAt))
    .limit(limit)
    .all();
  const unsettled = db
    .select()
    .from(orders)
    .where(
      and(
        // No status filter, which would tempt the planner into scanning every old ended order.
        toSettle(),
        lt(orders.updatedAt, cutoff),
        nothingOnItsWay(cutoff),
      ),
    )
    .orderBy(asc(orders.updatedAt))
    .limit(limit)
    .all();
  return [...moving, ...unsettled];
}

/**
 * Orders that came to rest within the look-back window without a message they are owed. The SQL
 * narrows the search; `owedNotifications` decides, inside the transaction.
 */
function recentlySettled(db: Db, cutoff: number, since: number, limit: number): OrderRow[] {
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
          // One clause per piece of evidence that a message is owed (order-machine.ts).
          ...MESSAGE_EVIDENCE.map((e) => {
            const owes =
              'statuses' in e
                ? inArray(orders.status, e.statuses)
                : 'reason' in e
                  ? and(eq(orders.status, e.status), eq(orders.reason, e.reason))
                  : 'stockNot' in e
                    ? sql`${orders.stockStatus} <> ${literals([e.stockNot])}`
                    : eq(orders.paymentStatus, e.paymentStatus);
            return and(owes, notSent(sql`${e.kind}`));
          }),
        ),
        nothingOnItsWay(cutoff),
      ),
    )
    .orderBy(asc(orders.updatedAt))
    .limit(limit)
    .all();
}

/** No event for the order waits for the relay, and none was written since the cut-off. */
function nothingOnItsWay(cutoff: number): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM ${outbox} WHERE ${outbox.orderId} = ${orders.id} AND (${outbox.dispatchedAt} IS NULL OR ${outbox.createdAt} > ${cutoff}))`;
}

function missingNotifications(db: Db, order: OrderRow): OutboxEvent[] {
  const owed = owedNotifications(order);
  if (owed.length === 0) return [];
  const sent = sentKinds(db, order.id);
  return owed.filter((kind) => !sent.has(kind)).map(eventForNotification);
}
