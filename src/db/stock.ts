/**
 * The catalog and its stock. Stock is conserved per SKU (available + reserved + shipped never
 * changes but through the catalog), and every move is a conditional update, so that no
 * interleaving of workers can take `available` below zero.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { InvariantViolation } from '../domain/errors.ts';
import { canApply, mayReleaseStock, STOCK_MOVES } from '../domain/order-machine.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { findOrder, orderItemsOf } from './orders.ts';
import { recordFact, transition } from './transitions.ts';
import { placeholderSql } from './statements.ts';
import { products, type OrderItemRow, type OrderRow, type ProductRow } from './schema.ts';

export interface ProductInput {
  sku: string;
  name: string;
  priceCents: number;
  /** Units available for sale. */
  stock: number;
}

/** Creates or updates a product; `stock` sets the units available for sale. */
export function upsertProduct(db: Db, input: ProductInput, now: number): { product: ProductRow; created: boolean } {
  return writeTx(db, (tx) => {
    const existing = tx.select().from(products).where(eq(products.sku, input.sku)).get();
    const product = tx
      .insert(products)
      .values({ sku: input.sku, name: input.name, priceCents: input.priceCents, available: input.stock, updatedAt: now })
      .onConflictDoUpdate({
        target: products.sku,
        set: { name: input.name, priceCents: input.priceCents, available: input.stock, updatedAt: now },
      })
      .returning()
      .get();
    return { product, created: existing === undefined };
  });
}

export function listProducts(db: Db): ProductRow[] {
  return db.select().from(products).orderBy(asc(products.sku)).all();
}

class Shortage extends Error {
  constructor(readonly sku: string) {
    super(`not enough ${sku}`);
  }
}

export type ReserveResult = 'reserved' | 'out_of_stock' | 'skipped';

/**
 * For a PaymentSucceeded job: reserve every line of a PAID order, or none of them. All lines are
 * taken in one savepoint; one short line rolls the others back and fails the order.
 */
export function reserveStock(db: Db, orderId: string, now: number): ReserveResult {
  return writeTx(db, (tx) => {
    const order = findOrder(tx, orderId);
    if (!order || !canApply(order.status, 'InventoryReserved')) return 'skipped';
    const items = orderItemsOf(tx, orderId);
    try {
      writeTx(tx, (sp) => {
        for (const item of items) {
          const { changes } = sp.connection.statements(build).reserve.run({ sku: item.sku, quantity: item.quantity });
          if (changes === 0) throw new Shortage(item.sku);
        }
      });
    } catch (error) {
      if (!(error instanceof Shortage)) throw error;
      transition(tx, order, 'InventoryReservationFailed', now, { data: { sku: error.sku } });
      return 'out_of_stock';
    }
    transition(tx, order, 'InventoryReserved', now);
    return 'reserved';
  });
}

/** For a StockReleaseRequested job: give an ended order's reserved units back to sale. */
export function releaseStock(db: Db, orderId: string, now: number): boolean {
  return writeTx(db, (tx) => {
    const order = findOrder(tx, orderId);
    if (!order || !mayReleaseStock(order)) return false;
    moveReserved(tx, orderItemsOf(tx, orderId), 'available');
    recordFact(tx, order, 'StockReleased', now);
    return true;
  });
}

/** Reserved units leave the warehouse with the shipment; call in the shipment's transaction. */
export function shipReservedStock(tx: Tx, order: OrderRow): void {
  if (!STOCK_MOVES[order.stockStatus].ShipmentCreated)
    throw new InvariantViolation(`order ${order.id}: no reserved stock to ship`);
  moveReserved(tx, orderItemsOf(tx, order.id), 'shipped');
}

function moveReserved(tx: Tx, items: OrderItemRow[], to: 'available' | 'shipped'): void {
  const move = to === 'available' ? tx.connection.statements(build).release : tx.connection.statements(build).ship;
  for (const item of items) move.run({ sku: item.sku, quantity: item.quantity });
}

/** The stock moves, prepared once per connection; each is one conditional or relative update. */
function build(db: Db) {
  const quantity = placeholderSql('quantity');
  const ofSku = eq(products.sku, placeholderSql('sku'));
  return {
    // Cannot take `available` below zero, whatever runs beside it.
    reserve: db
      .update(products)
      .set({ available: sql`${products.available} - ${quantity}`, reserved: sql`${products.reserved} + ${quantity}` })
      .where(and(ofSku, sql`${products.available} >= ${quantity}`))
      .prepare(),
    release: db
      .update(products)
      .set({ reserved: sql`${products.reserved} - ${quantity}`, available: sql`${products.available} + ${quantity}` })
      .where(ofSku)
      .prepare(),
    ship: db
      .update(products)
      .set({ reserved: sql`${products.reserved} - ${quantity}`, shipped: sql`${products.shipped} + ${quantity}` })
      .where(ofSku)
      .prepare(),
  };
}
