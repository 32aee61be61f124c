/**
 * The sandbox's ledgers in PostgreSQL: the same tables, columns and indexes as ./sqlite.ts, with
 * the same row types (test/tables.test.ts). Amounts, times and ids are `bigint` read as JS numbers,
 * as in src/db/tables/postgres.ts; enumerated columns get a CHECK constraint.
 */
import { bigint, check, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { oneOf } from '../../db/tables/one-of.ts';
import { PAYMENT_INTENT_OUTCOMES, SHIPMENT_STATUSES } from './ledger-values.ts';

/** Milliseconds since the epoch, or an amount that may pass 2^31: a bigint read as a JS number. */
const big = (name: string) => bigint(name, { mode: 'number' });

/** One row per payment idempotency key: what the gateway decided for it. */
export const sandboxPaymentIntents = pgTable(
  'sandbox_payment_intents',
  {
    idempotencyKey: text('idempotency_key').primaryKey(),
    orderId: text('order_id').notNull(),
    amountCents: big('amount_cents').notNull(),
    outcome: text('outcome', { enum: PAYMENT_INTENT_OUTCOMES }).notNull(),
    attempts: integer('attempts').notNull(),
    chargeId: text('charge_id'),
    declineCode: text('decline_code'),
    createdAt: big('created_at').notNull(),
  },
  (t) => [check('sandbox_payment_intents_outcome_known', oneOf(t.outcome, PAYMENT_INTENT_OUTCOMES))],
);

export const sandboxCharges = pgTable(
  'sandbox_charges',
  {
    id: text('id').primaryKey(),
    idempotencyKey: text('idempotency_key').notNull(),
    orderId: text('order_id').notNull(),
    amountCents: big('amount_cents').notNull(),
    createdAt: big('created_at').notNull(),
  },
  (t) => [uniqueIndex('sandbox_charges_key_idx').on(t.idempotencyKey), index('sandbox_charges_order_idx').on(t.orderId)],
);

export const sandboxRefunds = pgTable(
  'sandbox_refunds',
  {
    id: text('id').primaryKey(),
    idempotencyKey: text('idempotency_key').notNull(),
    orderId: text('order_id').notNull(),
    chargeId: text('charge_id').notNull(),
    amountCents: big('amount_cents').notNull(),
    createdAt: big('created_at').notNull(),
  },
  (t) => [uniqueIndex('sandbox_refunds_key_idx').on(t.idempotencyKey), index('sandbox_refunds_order_idx').on(t.orderId)],
);

export const sandboxShipments = pgTable(
  'sandbox_shipments',
  {
    orderId: text('order_id').primaryKey(),
    trackingNumber: text('tracking_number').notNull(),
    status: text('status', { enum: SHIPMENT_STATUSES }).notNull(),
    createdAt: big('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('sandbox_shipments_tracking_idx').on(t.trackingNumber),
    check('sandbox_shipments_status_known', oneOf(t.status, SHIPMENT_STATUSES)),
  ],
);

export const sandboxNotifications = pgTable(
  'sandbox_notifications',
  {
    // By default rather than always: a copy from SQLite inserts the ids it had.
    id: big('id').primaryKey().generatedByDefaultAsIdentity(),
    idempotencyKey: text('idempotency_key').notNull(),
    orderId: text('order_id').notNull(),
    kind: text('kind').notNull(),
    channel: text('channel').notNull(),
    recipient: text('recipient').notNull(),
    sentAt: big('sent_at').notNull(),
  },
  (t) => [
    uniqueIndex('sandbox_notifications_key_idx').on(t.idempotencyKey),
    index('sandbox_notifications_order_idx').on(t.orderId),
  ],
);
