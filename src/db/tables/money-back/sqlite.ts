/**
 * Money back and goods back, in SQLite: an order's refunds (each one gateway refund, keyed by its
 * id) and its returns with their lines. Apart from the order's own tables so that the lifecycle's
 * hot writers never touch them; drizzle-kit reads this module beside src/db/tables/sqlite.ts
 * (drizzle.config.ts). The same tables in PostgreSQL: ./postgres.ts.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { REFUND_STATUSES } from '../../../domain/refunds.ts';
import { RETURN_STATUSES } from '../../../domain/return-machine.ts';
import { orders, products } from '../sqlite.ts';
import type { RefundLine } from './values.ts';

export const refunds = sqliteTable(
  'refunds',
  {
    /** `rf_…`: also the refund's idempotency key at the gateway. */
    id: text('id').primaryKey(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    amountCents: integer('amount_cents').notNull(),
    reason: text('reason').notNull(),
    status: text('status', { enum: REFUND_STATUSES }).notNull(),
    /** The lines the refund is for, when it names them. */
    lines: text('lines', { mode: 'json' }).$type<RefundLine[]>(),
    /** The return whose lines it pays back: one refund per return at most. */
    returnId: text('return_id'),
    /** `api-key:<id>`, `admin`, or `service` for a compensation. */
    actor: text('actor').notNull(),
    /** The gateway's id for the refund, once it settled. */
    gatewayRefundId: text('gateway_refund_id'),
    createdAt: integer('created_at').notNull(),
    settledAt: integer('settled_at'),
  },
  (t) => [
    index('refunds_order_idx').on(t.orderId, t.createdAt),
    // The reconciler looks for messages owed by refunds settled within its window.
    index('refunds_settled_idx').on(t.settledAt),
    uniqueIndex('refunds_return_idx').on(t.returnId),
    check('refunds_amount_positive', sql`${t.amountCents} > 0`),
  ],
);

export const returns = sqliteTable(
  'returns',
  {
    /** `rt_…`. */
    id: text('id').primaryKey(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.id),
    status: text('status', { enum: RETURN_STATUSES }).notNull(),
    reason: text('reason').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('returns_order_idx').on(t.orderId, t.createdAt),
    index('returns_status_idx').on(t.status, t.createdAt),
    // The reconciler looks for messages owed by returns that moved within its window.
    index('returns_updated_idx').on(t.updatedAt),
  ],
);

export const returnItems = sqliteTable(
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
