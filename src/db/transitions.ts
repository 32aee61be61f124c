/**
 * The one function that writes an order's status (`transition`), always beside its timeline entry
 * and the events and compensation it causes; the facts that keep the status (`recordFact`); and
 * a job that gave up, put on the timeline.
 */
import { isOutboxEvent, type Fact, type OutboxEvent } from '../domain/events.ts';
import {
  applyEvent,
  compensationFor,
  FACT_EFFECTS,
  STOCK_MOVES,
  type OrderEvent,
  type OrderStatus,
  type StockStatus,
} from '../domain/order-machine.ts';
import { canMovePayment, type PaymentStatus } from '../domain/payment.ts';
import { refundableCents } from '../domain/refunds.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { findOrder } from './orders.ts';
import { writeChangeInOneStatement } from './engines/postgres-writes.ts';
import { emit, remember } from './outbox.ts';
import { openRemainderRefund } from './refund-rows.ts';
import type { OrderRow } from './schema.ts';
import { statements } from './statements.ts';
import { moveStock, Shortage, type StockMove } from './stock-moves.ts';
import { planWebhooks, writeWebhooks } from './webhook-writes.ts';
import { currentTraceparent } from '../telemetry/tracing.ts';

export interface TransitionChanges {
  trackingNumber?: string;
  chargeId?: string;
  /** Extra detail kept on the timeline entry. */
  data?: Record<string, unknown>;
  /** Further events the change writes after its own, each due `delayMs` from now. */
  emits?: readonly { type: OutboxEvent; delayMs: number }[];
  /** The stock the change moves with it, by the order's lines (stock-moves.ts); throws `Shortage`. */
  stock?: StockMove;
}

type Emitted = { type: OutboxEvent; delayMs: number };

/**
 * Moves `order` by `event`, the only write of an order's status in the service. Writes the
 * timeline entry, the payment status the row records, the event itself to the outbox and, when the
 * order ends badly, the compensation it owes (domain/lifecycle/compensation.ts). Call inside a
 * write transaction, after checking the order's current state.
 */
export async function transition(
  tx: Tx,
  order: OrderRow,
  event: OrderEvent,
  now: number,
  changes: TransitionChanges = {},
): Promise<OrderRow> {
  const result = applyEvent(order.status, event);
  if (!result.ok) throw new Error(`order ${order.id}: ${result.refusal.message}`);
  const compensation = compensationFor({ ...order, refundableCents: refundableCents(order) }, event);
  // The row's own payment status (the gateway's answer), or the one its compensation sets.
  const paymentStatus = result.paymentStatus ?? compensation.paymentStatus ?? order.paymentStatus;
  if (paymentStatus !== order.paymentStatus) assertPaymentMove(order, paymentStatus);
  const next: OrderRow = {
    ...order,
    status: result.to,
    reason: result.reason ?? order.reason,
    paymentStatus,
    stockStatus: stockAfter(order, event),
    trackingNumber: changes.trackingNumber ?? order.trackingNumber,
    chargeId: changes.chargeId ?? order.chargeId,
    version: order.version + 1,
    updatedAt: now,
  };
  const events: Emitted[] = [
    ...(isOutboxEvent(event) ? [{ type: event, delayMs: 0 }] : []),
    ...compensation.requests.map((type) => ({ type, delayMs: 0 })),
    ...(changes.emits ?? []),
  ];
  await writeChange(tx, next, { type: event, from: result.from, to: result.to, data: changes.data }, events, now, changes.stock);
  // The refund the compensation asked for: its row, for the job that RefundRequested starts.
  if (compensation.refundsRemainder) await openRemainderRefund(tx, next.id, next.reason ?? event, now);
  return next;
}

/**
 * Records a fact that does not move the status (a refund, a stock release) on the timeline, with
 * the payment and stock status it settles and the work it hands on (domain/lifecycle/tables.ts
 * FACT_EFFECTS).
 */
export async function recordFact(
  tx: Tx,
  order: OrderRow,
  fact: Fact,
  now: number,
  changes: Pick<TransitionChanges, 'chargeId' | 'data' | 'stock'> & {
    /** For a fact whose payment status follows from the order's refunds (`paymentByRefunds`). */
    paymentStatus?: PaymentStatus;
  } = {},
): Promise<OrderRow> {
  const effect = FACT_EFFECTS[fact];
  if (effect.paymentByRefunds && !changes.paymentStatus) throw new Error(`${fact} needs the payment status its refunds give`);
  const paymentStatus = changes.paymentStatus ?? effect.paymentStatus ?? order.paymentStatus;
  if (paymentStatus !== order.paymentStatus) assertPaymentMove(order, paymentStatus);
  const stockStatus = stockAfter(order, fact);
  const next: OrderRow = {
    ...order,
    paymentStatus,
    stockStatus,
    chargeId: changes.chargeId ?? order.chargeId,
    version: order.version + 1,
    updatedAt: now,
  };
  const events: Emitted[] = [
    ...(effect.requests ?? []).map((type) => ({ type, delayMs: 0 })),
    ...(effect.publishes ? [{ type: effect.publishes, delayMs: 0 }] : []),
  ];
  await writeChange(
    tx,
    next,
    { type: fact, from: order.status, to: order.status, data: changes.data },
    events,
    now,
    changes.stock,
  );
  if (effect.refundsRemainder) await openRemainderRefund(tx, next.id, next.reason ?? fact, now);
  return next;
}

/**
 * Writes a change of an order: its row, its timeline entry, its events, the webhook events it
 * causes where an endpoint subscribes (webhook-writes.ts) and, last, the stock it moves. On
 * PostgreSQL that is one statement (engines/postgres-writes.ts), on SQLite one statement each
 * (they run in process, without a round trip).
 */
async function writeChange(
  tx: Tx,
  next: OrderRow,
  entry: { type: string; from: OrderStatus | null; to: OrderStatus; data: Record<string, unknown> | undefined },
  caused: Emitted[],
  now: number,
  stock: StockMove | undefined,
): Promise<void> {
  const webhooks = await planWebhooks(tx, entry.type, next, now);
  const events = webhooks ? [...caused, { type: 'WebhooksDue' as const, delayMs: 0 }] : caused;
  if (!tx.rawQuery) {
    await writeOrder(tx, next);
    await appendTimeline(tx, next.id, entry.type, entry.from, entry.to, now, entry.data);
    for (const e of events) await emit(tx, next.id, e.type, now, e.delayMs);
    if (webhooks) await writeWebhooks(tx, next.id, webhooks, now);
    if (stock) await moveStock(tx, next.id, stock);
    return;
  }
  const traceparent = currentTraceparent();
  const { ids, short } = await writeChangeInOneStatement(tx.rawQuery, {
    order: next,
    at: now,
    entry: { ...entry, data: entry.data === undefined ? null : JSON.stringify(entry.data) },
    events,
    traceparent,
    stock,
    webhooks,
  });
  // The statement wrote the rest: throwing rolls it back with the transaction.
  if (short) throw new Shortage(undefined);
  for (const [i, e] of events.entries())
    remember(tx, { id: ids[i]!, orderId: next.id, type: e.type, at: now, delayMs: e.delayMs, traceparent });
}

/** The stock status after `step`, by the stock table; a step that does not move stock keeps it. */
function stockAfter(order: OrderRow, step: OrderEvent | Fact): StockStatus {
  return STOCK_MOVES[order.stockStatus][step] ?? order.stockStatus;
}

/** Appends an entry to the order's timeline; every status change and fact writes one. */
export async function appendTimeline(
  tx: Tx,
  orderId: string,
  type: string,
  from: OrderStatus | null,
  to: OrderStatus,
  at: number,
  data: Record<string, unknown> | undefined,
): Promise<void> {
  await statements(tx).appendTimeline.execute({
    orderId,
    type,
    from,
    to,
    at,
    data: data === undefined ? null : JSON.stringify(data),
  });
}

/** Writes the fields a transition or a fact may change. */
async function writeOrder(tx: Tx, next: OrderRow): Promise<void> {
  await statements(tx).writeOrder.execute({
    id: next.id,
    status: next.status,
    reason: next.reason,
    paymentStatus: next.paymentStatus,
    stockStatus: next.stockStatus,
    trackingNumber: next.trackingNumber,
    chargeId: next.chargeId,
    version: next.version,
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
export async function recordJobFailure(
  db: Db,
  orderId: string,
  failure: { queue: string; event: string; jobId: string | undefined; attempts: number; reason: string },
  now: number,
): Promise<void> {
  await writeTx(db, async (tx) => {
    const order = await findOrder(tx, orderId);
    if (order) await recordFact(tx, order, 'JobFailed', now, { data: failure });
  });
}
