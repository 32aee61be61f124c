/**
 * The payment service's two halves around the gateway call: decide what to ask the gateway for
 * (and move the order to PAYMENT_PENDING), then record what it answered. Each runs in the
 * transaction the step runner gives it (processors/step.ts); the gateway is called between them.
 */
import { and, eq } from 'drizzle-orm';
import { InvariantViolation } from '../domain/errors.ts';
import { awaitsGatewayAnswer, awaitsVoid, canApply } from '../domain/order-machine.ts';
import type { ChargeOutcome } from '../domain/ports.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { findOrder } from './orders.ts';
import { recordFact, transition } from './transitions.ts';
import type { OrderRow } from './schema.ts';

export type PaymentPlan =
  | { action: 'charge'; order: OrderRow }
  | { action: 'void'; order: OrderRow }
  | { action: 'none'; why: string };

/** For an OrderPlaced job: request the payment, or find that it was already asked for. */
export async function planCharge(tx: Tx, orderId: string, now: number, timeoutMs: number): Promise<PaymentPlan> {
  const order = await findOrder(tx, orderId);
  if (!order) return { action: 'none', why: 'order not found' };
  if (canApply(order.status, 'PaymentRequested')) {
    const pending = await transition(tx, order, 'PaymentRequested', now, {
      emits: [{ type: 'PaymentTimeoutDue', delayMs: timeoutMs }],
    });
    return { action: 'charge', order: pending };
  }
  // A retry of a charge whose answer was lost: the gateway's key makes asking again safe.
  if (canApply(order.status, 'PaymentSucceeded')) return { action: 'charge', order };
  return planVoidFor(order);
}

/** For a PaymentVoidRequested job: an order that ended while its charge was in flight. */
export async function planVoid(db: Db | Tx, orderId: string): Promise<PaymentPlan> {
  const order = await findOrder(db, orderId);
  if (!order) return { action: 'none', why: 'order not found' };
  return planVoidFor(order);
}

function planVoidFor(order: OrderRow): PaymentPlan {
  if (awaitsVoid(order)) return { action: 'void', order };
  return { action: 'none', why: `order is ${order.status}, payment ${order.paymentStatus}` };
}

/**
 * Records the gateway's answer. An answer for an order that has moved on (cancelled, timed out)
 * still settles the payment: a capture it can no longer use is refunded, never kept. An answer
 * that comes after the payment's deadline is late whether or not the deadline's job has run (it
 * lives in Redis, and may have been lost with Redis's data): the order times out here, from the
 * time the database holds, and the answer is then recorded as late.
 */
export async function recordPaymentOutcome(
  tx: Tx,
  orderId: string,
  outcome: ChargeOutcome,
  now: number,
  timeoutMs: number,
): Promise<OrderRow | undefined> {
  let order = await findOrder(tx, orderId);
  // Another job already settled this payment: the answer is the same, by the gateway's key.
  if (!order || !awaitsGatewayAnswer(order)) return order;
  // The payment was requested after the order was placed: an answer sooner than the timeout
  // after placement cannot be late, and needs no look at the timeline (the common case).
  if (
    canApply(order.status, 'PaymentTimedOut') &&
    now >= order.createdAt + timeoutMs &&
    now >= (await paymentRequestedAt(tx, order)) + timeoutMs
  ) {
    order = await transition(tx, order, 'PaymentTimedOut', now, { data: { timeoutMs } });
  }
  const live = canApply(order.status, 'PaymentSucceeded');
  switch (outcome.outcome) {
    case 'captured':
      if (live) {
        return transition(tx, order, 'PaymentSucceeded', now, {
          chargeId: outcome.chargeId,
          data: { chargeId: outcome.chargeId },
        });
      }
      return recordFact(tx, order, 'PaymentCapturedLate', now, {
        chargeId: outcome.chargeId,
        data: { chargeId: outcome.chargeId },
      });
    case 'declined':
      if (live) {
        return transition(tx, order, 'PaymentFailed', now, {
          data: { code: outcome.code },
        });
      }
      return recordFact(tx, order, 'PaymentDeclined', now, { data: { code: outcome.code } });
    case 'voided':
      if (live) throw new InvariantViolation(`order ${orderId}: the gateway voided a charge still in use`);
      return recordFact(tx, order, 'PaymentVoided', now);
  }
}

export type TimeoutCheck = { due: true; order: OrderRow | undefined } | { due: false; dueAt: number };

/** For a PaymentTimeoutDue job: fail an order whose gateway has not answered in time. */
export function timeOutPayment(db: Db, orderId: string, now: number, timeoutMs: number): Promise<TimeoutCheck> {
  return writeTx(db, async (tx): Promise<TimeoutCheck> => {
    const order = await findOrder(tx, orderId);
    if (!order || !canApply(order.status, 'PaymentTimedOut')) return { due: true, order };
    const dueAt = (await paymentRequestedAt(tx, order)) + timeoutMs;
    if (now < dueAt) return { due: false, dueAt };
    return { due: true, order: await transition(tx, order, 'PaymentTimedOut', now, { data: { timeoutMs } }) };
  });
}

/**
 * When the payment was requested: the deadline runs from the timeline's PaymentRequested entry
 * (updatedAt also moves with facts recorded while the order waits, a job that gave up, say).
 */
async function paymentRequestedAt(tx: Tx, order: OrderRow): Promise<number> {
  const { orderEvents } = tx.tables;
  const [requested] = await tx
    .select({ at: orderEvents.at })
    .from(orderEvents)
    .where(and(eq(orderEvents.orderId, order.id), eq(orderEvents.type, 'PaymentRequested')))
    .limit(1);
  return requested?.at ?? order.updatedAt;
}
