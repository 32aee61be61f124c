/**
 * The payment side of an order, beside its status (DESIGN.md "Order lifecycle").
 *
 * A payment is PENDING until the gateway has answered. A captured payment is refunded by refunds
 * (domain/refunds.ts): while one is at the gateway it is REFUND_PENDING, and once none is, it is
 * REFUNDED when the refunds add up to the capture, PARTIALLY_REFUNDED when they do not. Every
 * order that ends FAILED or CANCELLED after a capture ends REFUNDED. Like the order machine, this
 * is the only place that says which payment status may follow which.
 */

export const PAYMENT_STATUSES = [
  'PENDING',
  'CAPTURED',
  'DECLINED',
  'VOIDED',
  'REFUND_PENDING',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

const NEXT: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  // A capture the order can no longer use goes straight to REFUND_PENDING.
  PENDING: ['CAPTURED', 'DECLINED', 'VOIDED', 'REFUND_PENDING'],
  CAPTURED: ['REFUND_PENDING'],
  DECLINED: [],
  VOIDED: [],
  REFUND_PENDING: ['REFUNDED', 'PARTIALLY_REFUNDED'],
  PARTIALLY_REFUNDED: ['REFUND_PENDING'],
  REFUNDED: [],
};

export function canMovePayment(from: PaymentStatus, to: PaymentStatus): boolean {
  return NEXT[from].includes(to);
}

/** A payment some money of which may still be refunded: it was captured, and not all of it is back. */
export const REFUNDABLE_PAYMENTS: readonly PaymentStatus[] = ['CAPTURED', 'REFUND_PENDING', 'PARTIALLY_REFUNDED'];
