/**
 * The service's tables in PostgreSQL: the same tables, columns, keys and indexes as ./sqlite.ts,
 * with the same row types (test/tables.test.ts), so that code written once runs on either.
 *
 * Column types: times (ms since the epoch), order totals, stock counters and autoincrement ids are
 * `bigint` read as JS numbers (exact up to 2^53); unit prices, quantities, line numbers and small
 * flags are `integer`, bounded well below 2^31 by the API (src/api/schemas.ts). JSON is `json`, not
 * `jsonb`, so that a document's key order survives as SQLite keeps it. Each enumerated text
 * column also gets a CHECK constraint, which SQLite does not have.
 */
import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, json, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { ORDER_STATUSES, FAILURE_REASONS, STOCK_STATUSES } from '../../domain/order-machine.ts';
import { PAYMENT_STATUSES } from '../../domain/payment.ts';
import { NOTIFICATION_KINDS } from '../../domain/events.ts';
import { oneOf } from './one-of.ts';
import type { ShippingAddress } from './shipping-address.ts';
import { unsettled } from './unsettled.ts';

/** Milliseconds since the epoch, or an amount that may pass 2^31: a bigint read as a JS number. */
const big = (name: string) => bigint(name, { mode: 'number' });

export const products = pgTable(
  'products',
  {
    sku: text('sku').primaryKey(),
    name: text('name').notNull(),
    // At most 100,000,000 cents (PutProductBody).
    priceCents: integer('price_cents').notNull(),
    // Counters move between each other and are restocked on top: no bound short of bigint.
    available: big('available').notNull(),
    reserved: big('reserved').notNull().default(0),
    shipped: big('shipped').notNull().default(0),
    /** Units that came back with a return and went on sale again (informational: they are in `available`). */
    returned: big('returned').notNull().default(0),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [
    check('products_available_non_negative', sql`${t.available} >= 0`),
    check('products_reserved_non_negative', sql`${t.reserved} >= 0`),
    check('products_shipped_non_negative', sql`${t.shipped} >= 0`),
    check('products_returned_non_negative', sql`${t.returned} >= 0`),
    check('products_price_non_negative', sql`${t.priceCents} >= 0`),
  ],
);

export const orders = pgTable(
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
    // MAX_ORDER_TOTAL_CENTS has no upper bound, and 100 lines of 1,000 units can pass 2^31 cents.
    totalCents: big('total_cents').notNull(),
    currency: text('currency').notNull(),
    paymentToken: text('payment_token').notNull(),
    /** The gateway's id for the captured charge, kept so that a refund can name it. */
    chargeId: text('charge_id'),
    /** What the order's refunds add up to, settled or not: never more than the capture. */
    refundedCents: big('refunded_cents').notNull().default(0),
    shippingAddress: json('shipping_address').$type<ShippingAddress>().notNull(),
    trackingNumber: text('tracking_number'),
    /** Rises by one with every transition and fact: webhook receivers order events by it. */
    version: integer('version').notNull().default(1),
    createdAt: big('created_at').notNull(),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [
    index('orders_status_updated_idx').on(t.status, t.updatedAt),
    index('orders_customer_idx').on(t.customerId, t.id),
    uniqueIndex('orders_tracking_number_idx').on(t.trackingNumber),
    check('orders_refunds_within_total', sql`${t.refundedCents} >= 0 AND ${t.refundedCents} <= ${t.totalCents}`),
    // The reconciler's search for ended orders that still owe a refund, a void or stock.
    index('orders_unsettled_idx').on(t.updatedAt).where(unsettled(t)),
    check('orders_status_known', oneOf(t.status, ORDER_STATUSES)),
    check('orders_payment_status_known', oneOf(t.paymentStatus, PAYMENT_STATUSES)),
    check('orders_stock_status_known', oneOf(t.stockStatus, STOCK_STATUSES)),
    check('orders_reason_known', oneOf(t.reason, FAILURE_REASONS)),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    // At most 100 lines of at most 1,000 units each (PlaceOrderBody); the price is the product's.
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
export const orderEvents = pgTable(
  'order_events',
  {
    // By default rather than always: a copy from SQLite inserts the ids it had.
    id: big('id').primaryKey().generatedByDefaultAsIdentity(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    type: text('type').notNull(),
    fromStatus: text('from_status', { enum: ORDER_STATUSES }),
    toStatus: text('to_status', { enum: ORDER_STATUSES }).notNull(),
    at: big('at').notNull(),
    data: json('data').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('order_events_order_idx').on(t.orderId, t.id),
    check('order_events_from_status_known', oneOf(t.fromStatus, ORDER_STATUSES)),
    check('order_events_to_status_known', oneOf(t.toStatus, ORDER_STATUSES)),
  ],
);

/** Events committed with the state change that caused them, waiting for the relay. */
export const outbox = pgTable(
  'outbox',
  {
    id: big('id').primaryKey().generatedByDefaultAsIdentity(),
    orderId: text('order_id').notNull(),
    type: text('type').notNull(),
    createdAt: big('created_at').notNull(),
    /** The job should not run before this time (a payment timeout check, for instance). */
    runAt: big('run_at').notNull(),
    dispatchedAt: big('dispatched_at'),
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
export const serviceMeta = pgTable('service_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

export const idempotencyKeys = pgTable('idempotency_keys', {
  key: text('key').primaryKey(),
  fingerprint: text('fingerprint').notNull(),
  orderId: text('order_id')
    .notNull()
    .references(() => orders.id),
  statusCode: integer('status_code').notNull(),
  responseBody: text('response_body').notNull(),
  createdAt: big('created_at').notNull(),
  expiresAt: big('expires_at').notNull(),
});

/** The notifications we have sent, so that a job run twice does not send twice. */
export const sentNotifications = pgTable(
  'sent_notifications',
  {
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    kind: text('kind', { enum: NOTIFICATION_KINDS }).notNull(),
    /** The refund or return a message is about (events.ts SUBJECT_NOTIFICATION_KINDS); '' for the order. */
    subject: text('subject').notNull().default(''),
    sentAt: big('sent_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.kind, t.subject] }),
    check('sent_notifications_kind_known', oneOf(t.kind, NOTIFICATION_KINDS)),
  ],
);
