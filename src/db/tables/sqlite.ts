/**
 * The service's tables in SQLite: the source of truth for every order (DESIGN.md principle 1).
 *
 * Times are integer milliseconds since the epoch; money is integer cents. The same tables in
 * PostgreSQL are in ./postgres.ts, with the same row types (test/tables.test.ts). The simulated
 * outside world keeps its own ledgers in the same database (src/sandbox/tables/sqlite.ts).
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { ORDER_STATUSES, FAILURE_REASONS, STOCK_STATUSES } from '../../domain/order-machine.ts';
import { PAYMENT_STATUSES } from '../../domain/payment.ts';
import { NOTIFICATION_KINDS } from '../../domain/events.ts';
import type { ShippingAddress } from './shipping-address.ts';
import { unsettled } from './unsettled.ts';

export const products = sqliteTable(
  'products',
  {
    sku: text('sku').primaryKey(),
    name: text('name').notNull(),
    priceCents: integer('price_cents').notNull(),
    available: integer('available').notNull(),
    reserved: integer('reserved').notNull().default(0),
    shipped: integer('shipped').notNull().default(0),
    /** Units that came back with a return and went on sale again (informational: they are in `available`). */
    returned: integer('returned').notNull().default(0),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    check('products_available_non_negative', sql`${t.available} >= 0`),
    check('products_reserved_non_negative', sql`${t.reserved} >= 0`),
    check('products_shipped_non_negative', sql`${t.shipped} >= 0`),
    check('products_price_non_negative', sql`${t.priceCents} >= 0`),
  ],
);

export const orders = sqliteTable(
  'orders',
  {
    id: text('id').primaryKey(),
    status: text('status', { enum: ORDER_STATUSES }).notNull(),
    paymentStatus: text('payment_status', { enum: PAYMENT_STATUSES }).notNull(),
    stockStatus: text('stock_status', { enum: STOCK_STATUSES }).notNull().default('NONE'),
    reason: text('reason', { enum: FAILURE_REASONS }),
    customerId: text('customer_id').notNull(),
    /** Where the customer's messages go by email, when they gave one. */
    email: text('email'),
    totalCents: integer('total_cents').notNull(),
    currency: text('currency').notNull(),
    paymentToken: text('payment_token').notNull(),
    /** The gateway's id for the captured charge, kept so that a refund can name it. */
    chargeId: text('charge_id'),
    /**
     * What the order's refunds add up to, settled or not: never more than the capture (the
     * conditional update of db/refunds.ts; PostgreSQL also checks it, where adding the column
     * needs no rebuild of the table).
     */
    refundedCents: integer('refunded_cents').notNull().default(0),
    shippingAddress: text('shipping_address', { mode: 'json' }).$type<ShippingAddress>().notNull(),
    trackingNumber: text('tracking_number'),
    /** Rises by one with every transition and fact: webhook receivers order events by it. */
    version: integer('version').notNull().default(1),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('orders_status_updated_idx').on(t.status, t.updatedAt),
    index('orders_customer_idx').on(t.customerId, t.id),
    uniqueIndex('orders_tracking_number_idx').on(t.trackingNumber),
    // The reconciler's search for ended orders that still owe a refund, a void or stock.
    index('orders_unsettled_idx').on(t.updatedAt).where(unsettled(t)),
  ],
);

export const orderItems = sqliteTable(
  'order_items',
  {
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    line: integer('line').notNull(),
    sku: text('sku')
      .notNull()
      .references(() => products.sku),
    quantity: integer('quantity').notNull(),
    unitPriceCents: integer('unit_price_cents').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.line] })],
);

/** The order's timeline: append-only, one row per transition or side fact, oldest first by id. */
export const orderEvents = sqliteTable(
  'order_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    type: text('type').notNull(),
    fromStatus: text('from_status', { enum: ORDER_STATUSES }),
    toStatus: text('to_status', { enum: ORDER_STATUSES }).notNull(),
    at: integer('at').notNull(),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('order_events_order_idx').on(t.orderId, t.id)],
);

/** Events committed with the state change that caused them, waiting for the relay. */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    orderId: text('order_id').notNull(),
    type: text('type').notNull(),
    createdAt: integer('created_at').notNull(),
    /** The job should not run before this time (a payment timeout check, for instance). */
    runAt: integer('run_at').notNull(),
    dispatchedAt: integer('dispatched_at'),
    /**
     * 1 when the reconciler wrote the row to re-drive a stuck order: its job must run even if an
     * earlier job with the same id is still kept, completed or failed.
     */
    redrive: integer('redrive').notNull().default(0),
    /** W3C trace context of the request or job that wrote the row, so its jobs continue that trace. */
    traceparent: text('traceparent'),
  },
  (t) => [
    index('outbox_pending_idx').on(t.id).where(sql`${t.dispatchedAt} IS NULL`),
    index('outbox_order_idx').on(t.orderId, t.createdAt),
  ],
);

/** Facts about this database itself, such as the identity it claims a queue prefix with. */
export const serviceMeta = sqliteTable('service_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

export const idempotencyKeys = sqliteTable('idempotency_keys', {
  key: text('key').primaryKey(),
  fingerprint: text('fingerprint').notNull(),
  orderId: text('order_id')
    .notNull()
    .references(() => orders.id),
  statusCode: integer('status_code').notNull(),
  responseBody: text('response_body').notNull(),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

/** The notifications we have sent, so that a job run twice does not send twice. */
export const sentNotifications = sqliteTable(
  'sent_notifications',
  {
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    kind: text('kind', { enum: NOTIFICATION_KINDS }).notNull(),
    /** The refund or return a message is about (events.ts SUBJECT_NOTIFICATION_KINDS); '' for the order. */
    subject: text('subject').notNull().default(''),
    sentAt: integer('sent_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.kind, t.subject] })],
);
