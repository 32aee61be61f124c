/**
 * The words of the lifecycle: the events an order's transaction writes to the outbox, the facts
 * its timeline records, and the messages the customer may be sent. What each causes is in
 * lifecycle/tables.ts.
 *
 * Order events are transitions; the others name work that a transition leaves to another service
 * (a refund, a stock release, a void at the gateway, a payment timeout check), or a fact another
 * service must hear of (a refund issued).
 */

export const ORDER_EVENTS = [
  'PaymentRequested',
  'PaymentSucceeded',
  'PaymentFailed',
  'PaymentTimedOut',
  'InventoryReserved',
  'InventoryReservationFailed',
  'ShipmentCreated',
  'Delivered',
  'Cancelled',
] as const;
export type OrderEvent = (typeof ORDER_EVENTS)[number];

/** Work a transition hands to another service. */
const REQUEST_EVENTS = [
  'OrderPlaced',
  'PaymentTimeoutDue',
  'PaymentVoidRequested',
  'RefundRequested',
  'RefundIssued',
  'StockReleaseRequested',
  // An order's change caused webhook deliveries (db/webhook-writes.ts); many per order.
  'WebhooksDue',
] as const;

/**
 * Transitions no other service hears of: they go on the timeline only, never to the outbox (the
 * payment service asks the gateway in the same job that moves the order to PAYMENT_PENDING).
 */
export const TIMELINE_ONLY_EVENTS = ['PaymentRequested'] as const satisfies readonly OrderEvent[];

/** The events written to the outbox, each routed to at least one queue (queues/routing.ts). */
export const OUTBOX_EVENTS = [
  ...ORDER_EVENTS.filter(
    (e): e is Exclude<OrderEvent, (typeof TIMELINE_ONLY_EVENTS)[number]> =>
      !(TIMELINE_ONLY_EVENTS as readonly string[]).includes(e),
  ),
  ...REQUEST_EVENTS,
];
export type OutboxEvent = Exclude<OrderEvent, (typeof TIMELINE_ONLY_EVENTS)[number]> | (typeof REQUEST_EVENTS)[number];

export function isOutboxEvent(event: string): event is OutboxEvent {
  return (OUTBOX_EVENTS as readonly string[]).includes(event);
}

/** Timeline entries that do not change the order's status. */
export const FACTS = [
  'PaymentCapturedLate',
  'PaymentDeclined',
  'PaymentVoided',
  'RefundIssued',
  'StockReleased',
  'JobFailed',
  'NotificationRefused',
] as const;
export type Fact = (typeof FACTS)[number];

/** The customer messages the service sends, one per (order, kind) at most, in the order they come. */
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

/** What every job carries: the order, and the outbox row that caused it. */
export interface JobPayload {
  readonly orderId: string;
  readonly outboxId: number;
  /** W3C trace context of the enqueue, where traces are exported: the job's run continues it. */
  readonly traceparent?: string;
}
