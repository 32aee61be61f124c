/**
 * The events integrators receive by webhook, written once: which step of an order's timeline (the
 * placement, each transition of order-machine.ts `TRANSITIONS`, each fact of `FACT_EFFECTS`) sends
 * which event types. The table is keyed by every step the lifecycle has, and the compiler rejects
 * a step missing from it or one it does not know (`satisfies`, as queues/routing.ts does); every
 * other list of event types is read off it. A new fact or transition is one line here.
 *
 * A step that sends several types sends one event of each (a declined payment is both
 * `order.payment_failed` and `order.failed`): an integrator subscribes to what it cares about.
 * Pure: no I/O.
 */
import type { Fact, OrderEvent } from './events.ts';

/** Every entry an order's timeline may hold: its placement, its transitions, its facts. */
export type TimelineStep = 'OrderPlaced' | OrderEvent | Fact;

export const WEBHOOK_EVENTS_BY_STEP = {
  OrderPlaced: ['order.created'],
  // Timeline detail only: the gateway was asked.
  PaymentRequested: [],
  PaymentSucceeded: ['order.paid'],
  PaymentFailed: ['order.payment_failed', 'order.failed'],
  PaymentTimedOut: ['order.payment_failed', 'order.failed'],
  InventoryReserved: ['order.stock_reserved'],
  InventoryReservationFailed: ['order.failed'],
  ShipmentCreated: ['order.shipped'],
  Delivered: ['order.delivered'],
  Cancelled: ['order.cancelled'],
  // A late success on an ended order: the refund it owes is announced when issued.
  PaymentCapturedLate: [],
  PaymentDeclined: [],
  PaymentVoided: [],
  // A refund asked for (by hand, or by a return's receipt), and each refund settled at the gateway.
  RefundRequested: ['order.refund_requested'],
  RefundIssued: ['order.refunded'],
  StockReleased: ['order.stock_released'],
  ReturnRequested: ['order.return_requested'],
  ReturnReceived: ['order.return_received'],
  ReturnRefunded: ['order.return_refunded'],
  ReturnRejected: ['order.return_rejected'],
  ReturnCancelled: ['order.return_cancelled'],
  // Operational detail, for operators, not integrators.
  JobFailed: [],
  NotificationRefused: [],
} as const satisfies Readonly<Record<TimelineStep, readonly `order.${string}`[]>>;

export type WebhookEventType = (typeof WEBHOOK_EVENTS_BY_STEP)[TimelineStep][number];

/** Every event type, in the order of the table. */
export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [
  ...new Set(Object.values(WEBHOOK_EVENTS_BY_STEP).flat() as WebhookEventType[]),
];

export function isWebhookEventType(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}

/** The event types a step of the timeline sends (none for a step integrators do not hear of). */
export function webhookEventsOf(step: string): readonly WebhookEventType[] {
  return (WEBHOOK_EVENTS_BY_STEP as Readonly<Record<string, readonly WebhookEventType[]>>)[step] ?? [];
}
