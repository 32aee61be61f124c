/**
 * The simulated outside world's own ledgers (sandbox_* tables) in SQLite, kept apart from ours so
 * that tests can check our records against theirs. They live in the service's database, and
 * drizzle-kit reads this module beside src/db/tables/sqlite.ts (drizzle.config.ts). The same
 * tables in PostgreSQL are in ./postgres.ts.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { PAYMENT_INTENT_OUTCOMES, SHIPMENT_STATUSES } from './ledger-values.ts';

/** One row per payment idempotency key: what the gateway decided for it. */
export const sandboxPaymentIntents = sqliteTable('sandbox_payment_intents', {
  idempotencyKey: text('idempotency_key').primaryKey(),
  orderId: text('order_id').notNull(),
  amountCents: integer('amount_cents').notNull(),
  outcome: text('outcome', { enum: PAYMENT_INTENT_OUTCOMES }).notNull(),
  attempts: integer('attempts').notNull(),
  chargeId: text('charge_id'),
  declineCode: text('decline_code'),
  createdAt: integer('created_at').notNull(),
});

export const sandboxCharges = sqliteTable(
  'sandbox_charges',
  {
    id: text('id').primaryKey(),
    idempotencyKey: text('idempotency_key').notNull(),
    orderId: text('order_id').notNull(),
    amountCents: integer('amount_cents').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('sandbox_charges_key_idx').on(t.idempotencyKey), index('sandbox_charges_order_idx').on(t.orderId)],
);

export const sandboxRefunds = sqliteTable(
  'sandbox_refunds',
  {
    id: text('id').primaryKey(),
    idempotencyKey: text('idempotency_key').notNull(),
    orderId: text('order_id').notNull(),
    chargeId: text('charge_id').notNull(),
    amountCents: integer('amount_cents').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('sandbox_refunds_key_idx').on(t.idempotencyKey), index('sandbox_refunds_order_idx').on(t.orderId)],
);

export const sandboxShipments = sqliteTable(
  'sandbox_shipments',
  {
    orderId: text('order_id').primaryKey(),
    trackingNumber: text('tracking_number').notNull(),
    status: text('status', { enum: SHIPMENT_STATUSES }).notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('sandbox_shipments_tracking_idx').on(t.trackingNumber)],
);

export const sandboxNotifications = sqliteTable(
  'sandbox_notifications',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    idempotencyKey: text('idempotency_key').notNull(),
    orderId: text('order_id').notNull(),
    kind: text('kind').notNull(),
    channel: text('channel').notNull(),
    recipient: text('recipient').notNull(),
    sentAt: integer('sent_at').notNull(),
  },
  (t) => [
    uniqueIndex('sandbox_notifications_key_idx').on(t.idempotencyKey),
    index('sandbox_notifications_order_idx').on(t.orderId),
  ],
);
