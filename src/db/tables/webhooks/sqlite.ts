/**
 * Outbound webhooks in SQLite: the endpoints integrators registered, the events an order's changes
 * caused (written in the change's own transaction), one delivery per (event, endpoint) with its
 * retry state, and every attempt of each. Apart from the order's tables; drizzle-kit reads this
 * module beside src/db/tables/sqlite.ts (drizzle.config.ts). The same tables in PostgreSQL:
 * ./postgres.ts.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES, type OrderSnapshot } from './values.ts';

export const webhookEndpoints = sqliteTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  description: text('description'),
  /** The event types it subscribes to (domain/webhook-events.ts). */
  events: text('events', { mode: 'json' }).$type<string[]>().notNull(),
  /** `whsec_…`: used to sign, never logged nor shown again after creation or rotation. */
  secret: text('secret').notNull(),
  /** The secret before the last rotation, still signing beside the new one until it expires. */
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: integer('previous_secret_expires_at'),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  /** Why it was disabled: by an operator, by a 410, or after failing for days. */
  disabledReason: text('disabled_reason'),
  /** Since when every attempt to it has failed; null once one succeeds. */
  failingSince: integer('failing_since'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const webhookEvents = sqliteTable(
  'webhook_events',
  {
    /** The `webhook-id` every delivery of the event carries, retries and resends alike. */
    id: text('id').primaryKey(),
    orderId: text('order_id').notNull(),
    type: text('type').notNull(),
    /** The order's version after the change: receivers order what arrives out of order by it. */
    orderVersion: integer('order_version').notNull(),
    occurredAt: integer('occurred_at').notNull(),
    snapshot: text('snapshot', { mode: 'json' }).$type<OrderSnapshot>().notNull(),
  },
  (t) => [index('webhook_events_order_idx').on(t.orderId)],
);

export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id),
    endpointId: text('endpoint_id').notNull(),
    orderId: text('order_id').notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    /** Retries are counted from here: the event's time, or the last manual resend. */
    windowStart: integer('window_start').notNull(),
    lastAttemptAt: integer('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: integer('delivered_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_endpoint_idx').on(t.eventId, t.endpointId),
    index('webhook_deliveries_order_idx').on(t.orderId),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    // The reconciler's and the metrics' look at what is still owed.
    index('webhook_deliveries_pending_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`),
  ],
);

/**
 * Every attempt of a delivery, numbered from 1, written by the transaction that records it: what
 * the receiver answered (or why nothing came), how long it took, and what followed. The delivery
 * row keeps the last of them for its list; this is the history an operator reads when an
 * endpoint fails.
 */
export const webhookAttempts = sqliteTable(
  'webhook_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id),
    number: integer('number').notNull(),
    attemptedAt: integer('attempted_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    /** The receiver's HTTP status; null when no answer came (refused, timed out, address refused). */
    statusCode: integer('status_code'),
    /** What went wrong, with the start of the receiver's body; null when delivered. */
    error: text('error'),
    outcome: text('outcome', { enum: ATTEMPT_OUTCOMES }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.number] })],
);
