/**
 * The order aggregate: placing an order, reading it with its timeline, and the one function that
 * writes an order's status (`transition`), always beside its timeline entry.
 */
import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import { ulid } from 'ulid';
import { ConflictError, NotFoundError, UnprocessableError } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';
import { isOutboxEvent, type Fact } from '../domain/events.ts';
import {
  applyEvent,
  compensationFor,
  FACT_EFFECTS,
  INITIAL_STATUS,
  INITIAL_STOCK,
  STOCK_MOVES,
  ORDER_STATUSES,
  type OrderEvent,
  type OrderStatus,
  type StockStatus,
} from '../domain/order-machine.ts';
import { canMovePayment, type PaymentStatus } from '../domain/payment.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { statements } from './statements.ts';
import { findReplay, rememberResponse, type IdempotencyRequest } from './idempotency.ts';
import { emit } from './outbox.ts';
import {
  orderEvents,
  orders,
  type OrderEventRow,
  type OrderItemRow,
  type OrderRow,
  type ShippingAddress,
} from './schema.ts';

export const CURRENCY = 'USD';

export interface NewOrder {
  customerId: string;
  /** Where the customer's messages go by email, when they gave one. */
  email?: string | null;
  items: { sku: string; quantity: number }[];
  paymentToken: string;
  shippingAddress: ShippingAddress;
}

export interface OrderWithItems extends OrderRow {
  items: OrderItemRow[];
}

export type PlaceOrderResult =
  | { replayed: false; order: OrderWithItems }
  | { replayed: true; orderId: string; statusCode: number; body: string };

/** What an order must keep to, beyond its shape. */
export interface PlacementRules {
  /** An order whose total is over this is refused (422). */
  maxTotalCents?: number;
}

/** An idempotency key, and how to turn the new order into the response body kept for replays. */
export interface PlaceOrderIdempotency extends IdempotencyRequest {
  render: (order: OrderWithItems) => string;
}

/**
 * Places an order: prices come from the catalog, and the order, its first timeline entry, its
 * OrderPlaced event and its idempotency key (with the response to replay) are written in one
 * transaction. An order for unknown products, over the total allowed, or for more than is
 * available is refused before anything is written (so nothing is ever charged for it); the
 * reservation after payment still decides between orders that race for the last units.
 */
export function placeOrder(
  db: Db,
  input: NewOrder,
  now: number,
  idempotency?: PlaceOrderIdempotency,
  rules: PlacementRules = {},
): PlaceOrderResult {
  return writeTx(db, (tx) => {
    if (idempotency) {
      const replay = findReplay(tx, idempotency, now);
      if (replay) return { replayed: true, ...replay };
    }

    const skus = [...new Set(input.items.map((i) => i.sku))];
    const rows = statements(tx).prices.all({ skus: JSON.stringify(skus) });
    const catalog = new Map(rows.map((p) => [p.sku, p.priceCents]));
    const unknown = input.items
      .map((item, index) => ({ item, index }))
      .filter(({ item }) => !catalog.has(item.sku))
      .map(({ item, index }) => ({
        field: `items.${index}.sku`,
        message: `unknown SKU ${quote(item.sku)}`,
      }));
    if (unknown.length > 0) throw new UnprocessableError('The order names unknown products.', unknown);
    refuseOverTotal(input, catalog, rules.maxTotalCents);
    refuseShortStock(input, new Map(rows.map((p) => [p.sku, p.available])));

    const id = `ord_${ulid(now)}`;
    const items: OrderItemRow[] = input.items.map((item, line) => ({
      orderId: id,
      line,
      sku: item.sku,
      quantity: item.quantity,
      unitPriceCents: catalog.get(item.sku)!,
    }));
    const totalCents = items.reduce((sum, i) => sum + i.unitPriceCents * i.quantity, 0);
    const order: OrderRow = {
      id,
      status: INITIAL_STATUS,
      paymentStatus: 'PENDING',
      stockStatus: INITIAL_STOCK,
      reason: null,
      customerId: input.customerId,
      email: input.email ?? null,
      totalCents,
      currency: CURRENCY,
      paymentToken: input.paymentToken,
      chargeId: null,
      shippingAddress: input.shippingAddress,
      trackingNumber: null,
      createdAt: now,
      updatedAt: now,
    };
    const prepared = statements(tx);
    prepared.insertOrder.run(order);
    for (const item of items) prepared.insertItem.run(item);
    appendTimeline(tx, id, 'OrderPlaced', null, INITIAL_STATUS, now, { totalCents });
    emit(tx, id, 'OrderPlaced', now);

    const created = { ...order, items };
    if (idempotency) {
      rememberResponse(tx, idempotency, { orderId: id, statusCode: 201, body: idempotency.render(created) }, now);
    }
    return { replayed: false, order: created };
  });
}

function refuseOverTotal(input: NewOrder, prices: Map<string, number>, maxTotalCents: number | undefined): void {
  if (maxTotalCents === undefined) return;
  const total = input.items.reduce((sum, i) => sum + prices.get(i.sku)! * i.quantity, 0);
  if (total > maxTotalCents) {
    throw new UnprocessableError(`The order's total, ${total} cents, is over the ${maxTotalCents} cents allowed for one order.`, [
      { field: 'items', message: `total ${total} cents is over the limit of ${maxTotalCents} cents` },
    ]);
  }
}

/** Refuses (409) an order asking for more units of a SKU, over all its lines, than are available. */
function refuseShortStock(input: NewOrder, available: Map<string, number>): void {
  const wanted = new Map<string, { quantity: number; line: number }>();
  input.items.forEach((item, line) => {
    const seen = wanted.get(item.sku);
    wanted.set(item.sku, { quantity: (seen?.quantity ?? 0) + item.quantity, line: seen?.line ?? line });
  });
  const short = [...wanted].filter(([sku, w]) => w.quantity > available.get(sku)!);
  if (short.length === 0) return;
  throw new ConflictError(
    `Not enough stock for ${short.map(([sku]) => sku).join(', ')}.`,
    short.map(([sku, w]) => ({
      field: `items.${w.line}.sku`,
      message: `${sku}: ${w.quantity} asked for, ${available.get(sku)!} available`,
    })),
  );
}

export function findOrder(db: Db, id: string): OrderRow | undefined {
  return statements(db).findOrder.get({ id });
}

export function getOrder(db: Db, id: string): OrderWithItems {
  return { ...existingOrder(db, id), items: orderItemsOf(db, id) };
}

function existingOrder(db: Db, id: string): OrderRow {
  const order = findOrder(db, id);
  if (!order) throw new NotFoundError(`No order has the id ${quote(id)}.`);
  return order;
}

export function orderItemsOf(db: Db, id: string): OrderItemRow[] {
  return statements(db).orderItems.all({ id });
}

export function getTimeline(db: Db, id: string): OrderEventRow[] {
  existingOrder(db, id);
  return db.select().from(orderEvents).where(eq(orderEvents.orderId, id)).orderBy(asc(orderEvents.id)).all();
}

export interface TransitionChanges {
  paymentStatus?: PaymentStatus;
  trackingNumber?: string;
  chargeId?: string;
  /** Extra detail kept on the timeline entry. */
  data?: Record<string, unknown>;
}

/**
 * Moves `order` by `event`, the only write of an order's status in the service. Writes the
 * timeline entry, the event itself to the outbox and, when the order ends badly, the compensation
 * it owes (domain/compensation.ts). Call inside a write transaction, after checking the order's
 * current state.
 */
export function transition(
  tx: Tx,
  order: OrderRow,
  event: OrderEvent,
  now: number,
  changes: TransitionChanges = {},
): OrderRow {
  const result = applyEvent(order.status, event);
  if (!result.ok) throw new Error(`order ${order.id}: ${result.refusal.message}`);
  const compensation = compensationFor(order, event);
  const paymentStatus = changes.paymentStatus ?? compensation.paymentStatus ?? order.paymentStatus;
  if (paymentStatus !== order.paymentStatus) assertPaymentMove(order, paymentStatus);
  const next: OrderRow = {
    ...order,
    status: result.to,
    reason: result.reason ?? order.reason,
    paymentStatus,
    stockStatus: stockAfter(order, event),
    trackingNumber: changes.trackingNumber ?? order.trackingNumber,
    chargeId: changes.chargeId ?? order.chargeId,
    updatedAt: now,
  };
  writeOrder(tx, next);
  appendTimeline(tx, order.id, event, result.from, result.to, now, changes.data);
  if (isOutboxEvent(event)) emit(tx, order.id, event, now);
  for (const request of compensation.requests) emit(tx, order.id, request, now);
  return next;
}

/**
 * Records a fact that does not move the status (a refund, a stock release) on the timeline, with
 * the payment and stock status it settles and the work it hands on (order-machine.ts FACT_EFFECTS).
 */
export function recordFact(
  tx: Tx,
  order: OrderRow,
  fact: Fact,
  now: number,
  changes: Pick<TransitionChanges, 'chargeId' | 'data'> = {},
): OrderRow {
  const effect = FACT_EFFECTS[fact];
  const paymentStatus = effect.paymentStatus ?? order.paymentStatus;
  if (paymentStatus !== order.paymentStatus) assertPaymentMove(order, paymentStatus);
  const stockStatus = stockAfter(order, fact);
  const next: OrderRow = {
    ...order,
    paymentStatus,
    stockStatus,
    chargeId: changes.chargeId ?? order.chargeId,
    updatedAt: now,
  };
  writeOrder(tx, next);
  appendTimeline(tx, order.id, fact, order.status, order.status, now, changes.data);
  for (const request of effect.requests ?? []) emit(tx, order.id, request, now);
  if (effect.publishes) emit(tx, order.id, effect.publishes, now);
  return next;
}

/** The stock status after `step`, by the stock table; a step that does not move stock keeps it. */
function stockAfter(order: OrderRow, step: OrderEvent | Fact): StockStatus {
  return STOCK_MOVES[order.stockStatus][step] ?? order.stockStatus;
}

function appendTimeline(
  tx: Tx,
  orderId: string,
  type: string,
  from: OrderStatus | null,
  to: OrderStatus,
  at: number,
  data: Record<string, unknown> | undefined,
): void {
  statements(tx).appendTimeline.run({ orderId, type, from, to, at, data: data === undefined ? null : JSON.stringify(data) });
}

/** Writes the fields a transition or a fact may change. */
function writeOrder(tx: Tx, next: OrderRow): void {
  statements(tx).writeOrder.run({
    id: next.id,
    status: next.status,
    reason: next.reason,
    paymentStatus: next.paymentStatus,
    stockStatus: next.stockStatus,
    trackingNumber: next.trackingNumber,
    chargeId: next.chargeId,
    updatedAt: next.updatedAt,
  });
}

function assertPaymentMove(order: OrderRow, to: PaymentStatus): void {
  if (!canMovePayment(order.paymentStatus, to)) {
    throw new Error(`order ${order.id}: payment cannot move from ${order.paymentStatus} to ${to}`);
  }
}

/**
 * Puts a job that gave up on the order's timeline, so that an operator reading the order sees why
 * it stopped (the job itself waits in the failed set until someone requeues it).
 */
export function recordJobFailure(
  db: Db,
  orderId: string,
  failure: { queue: string; event: string; jobId: string | undefined; attempts: number; reason: string },
  now: number,
): void {
  writeTx(db, (tx) => {
    const order = findOrder(tx, orderId);
    if (order) recordFact(tx, order, 'JobFailed', now, { data: failure });
  });
}

/** How many orders rest in each status (every status, zero included). */
export function countOrdersByStatus(db: Db): Record<OrderStatus, number> {
  const counts = Object.fromEntries(ORDER_STATUSES.map((s) => [s, 0])) as Record<OrderStatus, number>;
  const rows = db.select({ status: orders.status, n: sql<number>`count(*)` }).from(orders).groupBy(orders.status).all();
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * The status changes recorded on timelines after entry `afterId`, counted by event, and the last
 * entry seen: lets a reader keep running totals by reading only what is new.
 */
export function transitionsSince(db: Db, afterId: number): { lastId: number; byEvent: Map<string, number> } {
  // Fix the upper bound first: entries written meanwhile are counted by the next read.
  const lastId = db.select({ last: sql<number | null>`max(${orderEvents.id})` }).from(orderEvents).get()?.last ?? afterId;
  const rows = db
    .select({ type: orderEvents.type, n: sql<number>`count(*)` })
    .from(orderEvents)
    .where(
      and(
        gt(orderEvents.id, afterId),
        lte(orderEvents.id, lastId),
        // Facts (a refund, a stock release) keep the status; OrderPlaced comes from nowhere.
        sql`${orderEvents.fromStatus} IS NOT ${orderEvents.toStatus}`,
      ),
    )
    .groupBy(orderEvents.type)
    .all();
  return { lastId, byEvent: new Map(rows.map((r) => [r.type, r.n])) };
}
