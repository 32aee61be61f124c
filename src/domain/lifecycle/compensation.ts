/**
 * What an order that ends badly still owes, read off one table (`COMPENSATIONS` in tables.ts):
 * what a transition writes with it (`compensationFor`), what the reconciler re-emits for an
 * order that stopped moving (`redriveEvents`), and whether a service's plan has work to do
 * (`awaitsRefund`, `awaitsVoid`, `mayReleaseStock`). One reading, so the three cannot disagree.
 */
import type { OrderEvent, OutboxEvent } from '../events.ts';
import { PAYMENT_STATUSES, type PaymentStatus } from '../payment.ts';
import { isTerminal, type OrderPosition } from './positions.ts';
import {
  COMPENSATION_NAMES,
  COMPENSATIONS,
  RESTING,
  STOCK_STATUSES,
  TRANSITIONS,
  paymentsOf,
  type Compensation,
  type PositionPattern,
  type StockStatus,
} from './tables.ts';

/**
 * Whether the order stands where `pattern` says (what the pattern leaves out does not matter).
 * `refundableCents`, what no refund has claimed of the capture, is read when the pattern asks;
 * a position that does not say is taken to have some.
 */
export function standsAt(
  order: OrderPosition & { refundableCents?: number },
  pattern: PositionPattern & { ended?: true },
): boolean {
  const payments = paymentsOf(pattern);
  return (
    (payments.length === 0 || payments.includes(order.paymentStatus)) &&
    (pattern.stockStatus === undefined || order.stockStatus === pattern.stockStatus) &&
    (!pattern.refundable || (order.refundableCents ?? 1) > 0) &&
    (!pattern.ended || isTerminal(order.status))
  );
}

/** Whether the work `compensation` handed on is still to do for this order. */
export function owes(order: OrderPosition, compensation: Compensation): boolean {
  const request = COMPENSATIONS[compensation].request;
  return request !== undefined && standsAt(order, request.owedWhile);
}

/** A refund asked for and not yet issued: the refund service's plan. */
export function awaitsRefund(order: OrderPosition): boolean {
  return owes(order, 'refund');
}

/** An ended order whose charge may still be in flight: the gateway is asked to void it. */
export function awaitsVoid(order: OrderPosition): boolean {
  return owes(order, 'void');
}

/** Reserved stock of an ended order, to go back on sale. */
export function mayReleaseStock(order: OrderPosition): boolean {
  return owes(order, 'releaseStock');
}

/** What `transition` writes beside the status when an order moves by `event`. */
export interface CompensationEffect {
  /** The payment status the order moves to with the transition, if it changes. */
  paymentStatus?: PaymentStatus;
  /** Work to hand to other services through the outbox. */
  requests: OutboxEvent[];
  /** A refund of what is left of the capture is owed (its row is written with the transition). */
  refundsRemainder?: true;
}

/**
 * The compensation the row (order.status, event) calls for, as the order's position needs it.
 * `refundableCents` is what no refund has claimed yet (domain/refunds.ts): nothing is refunded
 * when earlier refunds already took it all.
 */
export function compensationFor(order: OrderPosition & { refundableCents?: number }, event: OrderEvent): CompensationEffect {
  const requests: OutboxEvent[] = [];
  let paymentStatus: PaymentStatus | undefined;
  let refundsRemainder: true | undefined;
  for (const name of TRANSITIONS[order.status][event]?.compensation ?? []) {
    const rule = COMPENSATIONS[name];
    if (!standsAt(order, rule.calledFor)) continue;
    if (rule.setsPayment && rule.setsPayment !== order.paymentStatus) paymentStatus = rule.setsPayment;
    if (rule.request) requests.push(rule.request.event);
    if (rule.refundsRemainder) refundsRemainder = true;
  }
  return { ...(paymentStatus ? { paymentStatus } : {}), requests, ...(refundsRemainder ? { refundsRemainder } : {}) };
}

/** The events that carry an order on from where it rests, and the compensation it still owes. */
export function redriveEvents(order: OrderPosition): OutboxEvent[] {
  return [
    ...RESTING[order.status].redrive,
    ...COMPENSATION_NAMES.filter((name) => owes(order, name)).map((name) => COMPENSATIONS[name].request!.event),
  ];
}

const owedWhile = COMPENSATION_NAMES.flatMap((name) => {
  const request = COMPENSATIONS[name].request;
  return request ? [request.owedWhile] : [];
});

/** Payment statuses in which some compensation may still be owed (the gateway's or a refund's). */
export const UNSETTLED_PAYMENTS: readonly PaymentStatus[] = PAYMENT_STATUSES.filter((p) =>
  owedWhile.some((w) => paymentsOf(w).includes(p)),
);

/** Stock held for the order, which must leave with the shipment or go back on sale. */
export const HELD_STOCK: readonly StockStatus[] = STOCK_STATUSES.filter((s) => owedWhile.some((w) => w.stockStatus === s));

/** A payment or stock still to settle (the compensation of an ended order, say). */
export function hasSomethingToSettle(order: { paymentStatus: PaymentStatus; stockStatus?: StockStatus }): boolean {
  return (
    UNSETTLED_PAYMENTS.includes(order.paymentStatus) ||
    (order.stockStatus !== undefined && HELD_STOCK.includes(order.stockStatus))
  );
}

/**
 * At rest: the service has nothing left to do for the order; only the outside world (a delivery)
 * or nobody can move it. Without its stock status (the HTTP view does not show it), the stock is
 * not looked at.
 */
export function isAtRest(order: {
  status: OrderPosition['status'];
  paymentStatus: PaymentStatus;
  stockStatus?: StockStatus;
}): boolean {
  return RESTING[order.status].redrive.length === 0 && !hasSomethingToSettle(order);
}
