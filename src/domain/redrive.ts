/**
 * What an order that stopped moving is waiting for, as the events that would move it again
 * (DESIGN.md principle 1: nothing is lost if Redis loses its data). The reconciler re-emits
 * them; every processor checks the order's state first, so asking twice is harmless. Pure.
 */
import type { OrderPosition } from './compensation.ts';
import { NOTIFICATION_FOR_EVENT, type NotificationKind, type OutboxEvent } from './events.ts';
import { isTerminal, type OrderReason } from './order-machine.ts';

/** The events that carry an order on from where it rests; empty when it waits on nobody. */
export function redriveEvents(order: OrderPosition): OutboxEvent[] {
  const events: OutboxEvent[] = [];
  switch (order.status) {
    case 'CREATED':
      events.push('OrderPlaced');
      break;
    case 'PAYMENT_PENDING':
      // Ask again (the gateway's key makes that safe), and keep the deadline armed.
      events.push('OrderPlaced', 'PaymentTimeoutDue');
      break;
    case 'PAID':
      events.push('PaymentSucceeded');
      break;
    case 'AWAITING_SHIPMENT':
      events.push('InventoryReserved');
      break;
    default:
      break;
  }
  if (isTerminal(order.status)) {
    if (order.paymentStatus === 'PENDING') events.push('PaymentVoidRequested');
    if (order.stockStatus === 'RESERVED') events.push('StockReleaseRequested');
  }
  if (order.paymentStatus === 'REFUND_PENDING') events.push('RefundRequested');
  return events;
}

/** The message that tells the customer why an order ended. */
export const REASON_KIND: Record<OrderReason, NotificationKind> = {
  PAYMENT_DECLINED: 'payment_declined',
  PAYMENT_TIMEOUT: 'payment_timed_out',
  OUT_OF_STOCK: 'out_of_stock',
  CUSTOMER_CANCELLED: 'cancelled',
};

/** The messages the customer should have had by now, given where the order rests. */
export function owedNotifications(order: OrderPosition & { reason: OrderReason | null }): NotificationKind[] {
  const kinds: NotificationKind[] = [];
  // Stock that was ever reserved means the order was paid and reserved: InventoryReserved happened.
  if (order.stockStatus !== 'NONE') kinds.push('order_confirmed');
  if (order.status === 'SHIPPED' || order.status === 'COMPLETED') kinds.push('shipped');
  if (order.status === 'COMPLETED') kinds.push('delivered');
  if ((order.status === 'FAILED' || order.status === 'CANCELLED') && order.reason) kinds.push(REASON_KIND[order.reason]);
  if (order.paymentStatus === 'REFUNDED') kinds.push('refunded');
  return kinds;
}

/** The event whose notification job sends a kind of message. */
export function eventForNotification(kind: NotificationKind): OutboxEvent {
  const entry = Object.entries(NOTIFICATION_FOR_EVENT).find(([, k]) => k === kind);
  if (!entry) throw new Error(`no event sends ${kind}`);
  return entry[0] as OutboxEvent;
}
