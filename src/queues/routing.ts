/**
 * Which service hears which event: the one routing table of the service (DESIGN.md principle 4),
 * the handlers each queue's processor must have for it, and the deterministic job ids that let
 * BullMQ drop a duplicate enqueue.
 */
import type { Job } from 'bullmq';
import { REPEATABLE_EVENTS, type JobPayload, type OutboxEvent } from '../domain/events.ts';

/**
 * `payment-deadline` holds the payment deadlines apart from the charges they guard: a provider
 * that hangs holds `payment` slots, never the timer that fails its orders on time.
 */
export const QUEUE_NAMES = ['payment', 'payment-deadline', 'inventory', 'shipping', 'notification', 'refund', 'webhook'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Every outbox event goes to one queue at least: an event nobody hears is not written. */
export const ROUTES = {
  OrderPlaced: ['payment'],
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
  WebhooksDue: ['webhook'],
  ReturnRequested: ['notification'],
  ReturnReceived: ['notification'],
  ReturnRejected: ['notification'],
  ReturnCancelled: ['notification'],
} as const satisfies Readonly<Record<OutboxEvent, readonly [QueueName, ...QueueName[]]>>;

/** The events routed to `queue`. */
export type EventsOf<Q extends QueueName> = {
  [E in OutboxEvent]: Q extends (typeof ROUTES)[E][number] ? E : never;
}[OutboxEvent];

/** Runs one job; answers what it did, in a word or two, for the logs and the dashboard. */
export type Handler = (job: Job<JobPayload>, token?: string) => Promise<string>;

/**
 * One handler per event the queue hears, and none for another: the compiler rejects a routed
 * event without a handler and a handler for an event the queue does not hear.
 */
export type Handlers<Q extends QueueName> = { readonly [E in EventsOf<Q>]: Handler };

/**
 * Most events happen at most once per order, so (order, event, queue) names a job. Those that may
 * happen again (a change with webhook deliveries, a second refund, a second return: events.ts
 * `REPEATABLE_EVENTS`) are also named by
 * their outbox row, or the second would be dropped while the first's job is kept; the same row
 * enqueued twice still gives one job. BullMQ forbids ':' in custom ids; order ids and event names
 * never hold one. The queue stays last (`queueOfJobId`).
 */
export function jobIdFor(orderId: string, event: OutboxEvent, queue: QueueName, outboxId?: number): string {
  if (isRepeatable(event)) {
    if (outboxId === undefined) throw new Error(`${event} happens more than once per order: its job id needs its outbox row`);
    return `${orderId}-${event}-${outboxId}-${queue}`;
  }
  return `${orderId}-${event}-${queue}`;
}

export function isRepeatable(event: OutboxEvent): boolean {
  return (REPEATABLE_EVENTS as readonly string[]).includes(event);
}
