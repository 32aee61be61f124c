/**
 * Money back: the rules every refund follows, whether an operator or a storefront asked for part
 * of an order (`POST /orders/{id}/refunds`), a return's lines came back, or an order ended after
 * a capture and owes the rest. Each refund is a row of its own, carried out at the gateway under
 * its own id; the order keeps the running total of what it has promised back (`refundedCents`),
 * which the database never lets pass the capture. Pure: no I/O.
 */
import { REFUNDABLE_PAYMENTS, type PaymentStatus } from './payment.ts';

/** A refund is PENDING until the gateway has refunded it, then SUCCEEDED. */
export const REFUND_STATUSES = ['PENDING', 'SUCCEEDED'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** The longest reason a refund or a return carries. */
export const MAX_REASON_LENGTH = 500;

/** What an order's refunds are measured against. */
export interface RefundableOrder {
  paymentStatus: PaymentStatus;
  /** Set once the gateway captured the payment. */
  chargeId: string | null;
  totalCents: number;
  /** The sum of every refund of the order, settled or not. */
  refundedCents: number;
}

/** What was captured for the order: its total once the gateway took it, else nothing. */
export function capturedCents(order: RefundableOrder): number {
  return order.chargeId ? order.totalCents : 0;
}

/** How much of the capture no refund has claimed yet: the most a new refund may take. */
export function refundableCents(order: RefundableOrder): number {
  if (!REFUNDABLE_PAYMENTS.includes(order.paymentStatus)) return 0;
  return Math.max(0, capturedCents(order) - order.refundedCents);
}

/**
 * The payment status once a refund settled: still REFUND_PENDING while another waits for the
 * gateway, REFUNDED when the settled refunds add up to the capture, PARTIALLY_REFUNDED otherwise.
 */
export function paymentAfterRefund(order: { totalCents: number }, settledCents: number, stillPending: number): PaymentStatus {
  if (stillPending > 0) return 'REFUND_PENDING';
  return settledCents >= order.totalCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}
