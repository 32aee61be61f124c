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
  'ReturnRequested',
  'ReturnReceived',
  'ReturnRejected',
  'ReturnCancelled',
] as const;

/**
 * Events that may happen more than once per order (a second refund, a second return): their jobs
 * are named by their outbox row as well (queues/routing.ts `jobIdFor`), where the others' are
 * named by (order, event) alone.
 */
export const REPEATABLE_EVENTS = [
  'WebhooksDue',
  'RefundRequested',
  'RefundIssued',
  'ReturnRequested',
  'ReturnReceived',
  'ReturnRejected',
  'ReturnCancelled',
] as const satisfies readonly (typeof REQUEST_EVENTS)[number][];

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
  'RefundRequested',
  'RefundIssued',
  'StockReleased',
  'ReturnRequested',
  'ReturnReceived',
  'ReturnRefunded',
  'ReturnRejected',
  'ReturnCancelled',
  'JobFailed',
  'NotificationRefused',
] as const;
export type Fact = (typeof FACTS)[number];

/** The customer messages the service sends, in the order they come. */
export const NOTIFICATION_KINDS = [
  'order_confirmed',
  'payment_declined',
  'payment_timed_out',
  'out_of_stock',
  'shipped',
  'delivered',
  'cancelled',
  'refunded',
  'return_requested',
  'return_received',
  'return_rejected',
  'return_cancelled',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/**
 * The messages about one refund or one return of the order rather than the order itself: each is
 * sent once per (refund or return, kind), the others once per (order, kind).
 */
export const SUBJECT_NOTIFICATION_KINDS = [
  'refunded',
  'return_requested',
  'return_received',
  'return_rejected',
  'return_cancelled',
] as const satisfies readonly NotificationKind[];
export type SubjectNotificationKind = (typeof SUBJECT_NOTIFICATION_KINDS)[number];

export function isSubjectKind(kind: NotificationKind): kind is SubjectNotificationKind {
  return (SUBJECT_NOTIFICATION_KINDS as readonly string[]).includes(kind);
}

/** What every job carries: the order, and the outbox row that caused it. */
export interface JobPayload {
  readonly orderId: string;
  readonly outboxId: number;
  /** W3C trace context of the enqueue, where traces are exported: the job's run continues it. */
  readonly traceparent?: string;
}
