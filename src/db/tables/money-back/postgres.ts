/**
 * Money back and goods back, in PostgreSQL: the same tables as ./sqlite.ts with the same row
 * types (test/tables.test.ts), and a CHECK constraint on each enumerated column.
 */
import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, json, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { REFUND_STATUSES } from '../../../domain/refunds.ts';
import { RETURN_STATUSES } from '../../../domain/return-machine.ts';
import { oneOf } from '../one-of.ts';
import { orders, products } from '../postgres.ts';
import type { RefundLine } from './values.ts';

const big = (name: string) => bigint(name, { mode: 'number' });

export const refunds = pgTable(
  'refunds',
  {
    /** `rf_…`: also the refund's idempotency key at the gateway. */
    id: text('id').primaryKey(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    // At most an order's total, which may pass 2^31 cents.
    amountCents: big('amount_cents').notNull(),
    reason: text('reason').notNull(),
    status: text('status', { enum: REFUND_STATUSES }).notNull(),
    /** The lines the refund is for, when it names them. */
    lines: json('lines').$type<RefundLine[]>(),
    /** The return whose lines it pays back: one refund per return at most. */
    returnId: text('return_id'),
    /** `api-key:<id>`, `admin`, or `service` for a compensation. */
    actor: text('actor').notNull(),
    /** The gateway's id for the refund, once it settled. */
    gatewayRefundId: text('gateway_refund_id'),
    createdAt: big('created_at').notNull(),
    settledAt: big('settled_at'),
  },
  (t) => [
    index('refunds_order_idx').on(t.orderId, t.createdAt),
    // The reconciler looks for messages owed by refunds settled within its window.
    index('refunds_settled_idx').on(t.settledAt),
    uniqueIndex('refunds_return_idx').on(t.returnId),
    check('refunds_amount_positive', sql`${t.amountCents} > 0`),
    check('refunds_status_known', oneOf(t.status, REFUND_STATUSES)),
  ],
);

export const returns = pgTable(
  'returns',
  {
    /** `rt_…`. */
    id: text('id').primaryKey(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    status: text('status', { enum: RETURN_STATUSES }).notNull(),
    reason: text('reason').notNull(),
    createdAt: big('created_at').notNull(),
    updatedAt: big('updated_at').notNull(),
  },
  (t) => [
    index('returns_order_idx').on(t.orderId, t.createdAt),
    index('returns_status_idx').on(t.status, t.createdAt),
    // The reconciler looks for messages owed by returns that moved within its window.
    index('returns_updated_idx').on(t.updatedAt),
    check('returns_status_known', oneOf(t.status, RETURN_STATUSES)),
  ],
);

export const returnItems = pgTable(
  'return_items',
  {
    returnId: text('return_id')
      .notNull()
      .references(() => returns.id),
    sku: text('sku')
      .notNull()
      .references(() => products.sku),
    quantity: integer('quantity').notNull(),
    /** The order line's price, so that the refund pays back what was paid. */
    unitPriceCents: integer('unit_price_cents').notNull(),
  },
  (t) => [primaryKey({ columns: [t.returnId, t.sku] }), check('return_items_quantity_positive', sql`${t.quantity} > 0`)],
);
