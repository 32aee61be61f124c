/**
 * How an order's lines move stock between a product's counts, one conditional or relative update
 * per SKU: `reserve` (available → reserved; never below zero), `ship` (reserved → shipped) and
 * `release` (reserved → available). A transition or fact that moves stock names its move
 * (transitions.ts), and the move is written with it, after the order's own writes: a product's row
 * is the one every order for it locks, so it is taken last and held only for the commit. On
 * PostgreSQL the move is part of the change's one statement (engines/postgres-writes.ts); here it
 * is one update per SKU, in SKU order, so that two transactions take the rows in the same order.
 */
import { and, eq, sql } from 'drizzle-orm';
import { prepared, type Db, type Tx } from './client.ts';
import { rowsChanged } from './dialect.ts';
import { orderItemsOf } from './orders.ts';
import { placeholderSql } from './statements.ts';
import type { OrderItemRow } from './schema.ts';

export type StockMove = 'reserve' | 'ship' | 'release';

/** A line of the order is short of stock: the transaction that tried the reservation rolls back. */
export class Shortage extends Error {
  /** The short SKU, when the move says which. */
  constructor(readonly sku: string | undefined) {
    super(sku ? `not enough ${sku}` : 'not enough stock for a line of the order');
  }
}

/** Moves every line of the order by `move`, SKU by SKU; a reservation throws `Shortage` for a short one. */
export async function moveStock(tx: Tx, orderId: string, move: StockMove): Promise<void> {
  await moveLines(tx, await orderItemsOf(tx, orderId), move);
}

/** The same, for lines already read. */
export async function moveLines(tx: Tx, items: OrderItemRow[], move: StockMove): Promise<void> {
  const statement = prepared(tx, build)[move];
  for (const item of bySku(items)) {
    const result = await statement.execute({ sku: item.sku, quantity: item.quantity });
    if (move === 'reserve' && rowsChanged(result) === 0) throw new Shortage(item.sku);
  }
}

function bySku(items: OrderItemRow[]): OrderItemRow[] {
  return items.toSorted((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/** The moves, prepared once per connection. */
function build(db: Db) {
  const { products } = db.tables;
  const quantity = placeholderSql('quantity');
  const ofSku = eq(products.sku, placeholderSql('sku'));
  return {
    // Cannot take `available` below zero, whatever runs beside it.
    reserve: db
      .update(products)
      .set({ available: sql`${products.available} - ${quantity}`, reserved: sql`${products.reserved} + ${quantity}` })
      .where(and(ofSku, sql`${products.available} >= ${quantity}`))
      .prepare('stock_reserve'),
    release: db
      .update(products)
      .set({ reserved: sql`${products.reserved} - ${quantity}`, available: sql`${products.available} + ${quantity}` })
      .where(ofSku)
      .prepare('stock_release'),
    ship: db
      .update(products)
      .set({ reserved: sql`${products.reserved} - ${quantity}`, shipped: sql`${products.shipped} + ${quantity}` })
      .where(ofSku)
      .prepare('stock_ship'),
  };
}
