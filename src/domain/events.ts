/**
 * The events an order's transaction writes to the outbox, and what each job carries.
 *
 * Order events (order-machine.ts) are facts about a transition; the others name work that a
 * transition leaves to another service: a refund, a stock release, a void at the gateway, a
 * payment timeout check, a notification.
 */
import { ORDER_EVENTS } from './order-machine.ts';

/** Work a transition hands to another service. */
export const REQUEST_EVENTS = [
  'OrderPlaced',
  'PaymentTimeoutDue',
  'PaymentVoidRequested',
  'RefundRequested',
  'RefundIssued',
  'StockReleaseRequested',
] as const;

export const OUTBOX_EVENTS = [...ORDER_EVENTS, ...REQUEST_EVENTS] as const;
export type OutboxEvent = (typeof OUTBOX_EVENTS)[number];

/** The customer messages the service sends, one per (order, kind) at most. */
export const NOTIFICATION_KINDS = [
  'order_confirmed',
  'payment_declined',
  'payment_timed_out',
  'out_of_stock',
  'shipped',
  'delivered',
  'cancelled',
  'refunded',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Which event tells the customer what. */
export const NOTIFICATION_FOR_EVENT: Partial<Record<OutboxEvent, NotificationKind>> = {
  PaymentFailed: 'payment_declined',
  PaymentTimedOut: 'payment_timed_out',
  InventoryReserved: 'order_confirmed',
  InventoryReservationFailed: 'out_of_stock',
  ShipmentCreated: 'shipped',
  Delivered: 'delivered',
  Cancelled: 'cancelled',
  RefundIssued: 'refunded',
};

/** What every job carries: the order, and the outbox row that caused it. */
export interface JobPayload {
  readonly orderId: string;
  readonly outboxId: number;
  /** W3C trace context of the enqueue, where traces are exported: the job's run continues it. */
  readonly traceparent?: string;
}
