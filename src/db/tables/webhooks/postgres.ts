/**
 * The tables of ./sqlite.ts in PostgreSQL, with the same row types (test/tables.test.ts): webhook
 * endpoints, the events orders caused, their deliveries and every attempt of each.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, json, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { oneOf } from '../one-of.ts';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES, type OrderSnapshot } from './values.ts';

const big = (name: string) => bigint(name, { mode: 'number' });

export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  description: text('description'),
  events: json('events').$type<string[]>().notNull(),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: big('previous_secret_expires_at'),
  enabled: boolean('enabled').notNull(),
  disabledReason: text('disabled_reason'),
  failingSince: big('failing_since'),
  createdAt: big('created_at').notNull(),
  updatedAt: big('updated_at').notNull(),
});

export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    orderId: text('order_id').notNull(),
    type: text('type').notNull(),
    orderVersion: integer('order_version').notNull(),
    occurredAt: big('occurred_at').notNull(),
    snapshot: json('snapshot').$type<OrderSnapshot>().notNull(),
  },
  (t) => [index('webhook_events_order_idx').on(t.orderId)],
);

export const webhookDeliveries = pgTable(
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
    nextAttemptAt: big('next_attempt_at').notNull(),
    windowStart: big('window_start').notNull(),
    lastAttemptAt: big('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: big('delivered_at'),
    createdAt: big('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_endpoint_idx').on(t.eventId, t.endpointId),
    index('webhook_deliveries_order_idx').on(t.orderId),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    index('webhook_deliveries_pending_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`),
    check('webhook_deliveries_status_known', oneOf(t.status, DELIVERY_STATUSES)),
  ],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id),
    number: integer('number').notNull(),
    attemptedAt: big('attempted_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    outcome: text('outcome', { enum: ATTEMPT_OUTCOMES }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.deliveryId, t.number] }),
    check('webhook_attempts_outcome_known', oneOf(t.outcome, ATTEMPT_OUTCOMES)),
  ],
);
