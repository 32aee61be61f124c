/**
 * The payment side of an order, beside its status (DESIGN.md "Order lifecycle").
 *
 * A payment is PENDING until the gateway has answered, and every order that ends FAILED or
 * CANCELLED after a capture goes through REFUND_PENDING to REFUNDED. Like the order machine, this
 * is the only place that says which payment status may follow which.
 */

export const PAYMENT_STATUSES = ['PENDING', 'CAPTURED', 'DECLINED', 'VOIDED', 'REFUND_PENDING', 'REFUNDED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

const NEXT: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  // A capture the order can no longer use goes straight to REFUND_PENDING.
  PENDING: ['CAPTURED', 'DECLINED', 'VOIDED', 'REFUND_PENDING'],
  CAPTURED: ['REFUND_PENDING'],
  DECLINED: [],
  VOIDED: [],
  REFUND_PENDING: ['REFUNDED'],
  REFUNDED: [],
};

export function canMovePayment(from: PaymentStatus, to: PaymentStatus): boolean {
  return NEXT[from].includes(to);
}
