/**
 * What an order owes the outside world when it ends badly (DESIGN.md principle 5): a capture is
 * refunded, a charge still in flight is voided, reserved stock is released. Pure: the caller
 * writes the result in the same transaction as the transition.
 */
import type { OutboxEvent } from './events.ts';
import { applyEvent, type OrderEvent, type OrderStatus } from './order-machine.ts';
import type { PaymentStatus } from './payment.ts';

export interface OrderPosition {
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  stockStatus: 'NONE' | 'RESERVED' | 'RELEASED' | 'SHIPPED';
}

export interface Compensation {
  /** The payment status the order moves to with the transition, if it changes. */
  paymentStatus?: PaymentStatus;
  /** Work to hand to other services through the outbox. */
  requests: OutboxEvent[];
}

export function compensationFor(order: OrderPosition, event: OrderEvent): Compensation {
  const result = applyEvent(order.status, event);
  if (!result.ok || (result.to !== 'FAILED' && result.to !== 'CANCELLED')) return { requests: [] };

  const requests: OutboxEvent[] = [];
  let paymentStatus: PaymentStatus | undefined;
  if (order.paymentStatus === 'CAPTURED') {
    paymentStatus = 'REFUND_PENDING';
    requests.push('RefundRequested');
  } else if (order.paymentStatus === 'PENDING') {
    if (order.status === 'CREATED') {
      // No charge was ever asked for: nothing can arrive later.
      paymentStatus = 'VOIDED';
    } else if (event === 'Cancelled') {
      // A charge may be in flight: void it at the gateway, which refunds it if it already landed.
      requests.push('PaymentVoidRequested');
    }
    // Declines and timeouts wait for the gateway's answer; a late success is refunded then.
  }
  if (order.stockStatus === 'RESERVED') requests.push('StockReleaseRequested');
  return paymentStatus ? { paymentStatus, requests } : { requests };
}
