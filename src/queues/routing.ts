/**
 * Which service hears which event: the one routing table of the service (DESIGN.md principle 4),
 * and the deterministic job ids that let BullMQ drop a duplicate enqueue.
 */
import type { OutboxEvent } from '../domain/events.ts';

/**
 * `payment-deadline` holds the payment deadlines apart from the charges they guard: a provider
 * that hangs holds `payment` slots, never the timer that fails its orders on time.
 */
export const QUEUE_NAMES = ['payment', 'payment-deadline', 'inventory', 'shipping', 'notification', 'refund'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const ROUTES: Readonly<Record<OutboxEvent, readonly QueueName[]>> = {
  OrderPlaced: ['payment'],
  PaymentRequested: [],
  PaymentTimeoutDue: ['payment-deadline'],
  PaymentVoidRequested: ['payment'],
  PaymentSucceeded: ['inventory'],
  PaymentFailed: ['notification'],
  PaymentTimedOut: ['notification'],
  InventoryReserved: ['shipping', 'notification'],
  InventoryReservationFailed: ['notification'],
  ShipmentCreated: ['notification'],
  Delivered: ['notification'],
  Cancelled: ['notification'],
  StockReleaseRequested: ['inventory'],
  RefundRequested: ['refund'],
  RefundIssued: ['notification'],
};

/**
 * Each event happens at most once per order, so (order, event, queue) names a job. BullMQ
 * forbids ':' in custom ids; order ids and event names never hold one.
 */
export function jobIdFor(orderId: string, event: OutboxEvent, queue: QueueName): string {
  return `${orderId}-${event}-${queue}`;
}
