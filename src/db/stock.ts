/**
 * The catalog and its stock. Stock is conserved per SKU (available + reserved + shipped never
 * changes but through the catalog), and every move is a conditional update, so that no
 * interleaving of workers can take `available` below zero.
 */
import { asc, eq } from 'drizzle-orm';
import { InvariantViolation } from '../domain/errors.ts';
import { canApply, mayReleaseStock, STOCK_MOVES } from '../domain/order-machine.ts';
import { writeTx, type Db } from './client.ts';
import { lockOrder, orderItemsOf } from './orders.ts';
import { recordFact, transition } from './transitions.ts';
import type { OrderRow, ProductRow } from './schema.ts';
import { moveLines, Shortage } from './stock-moves.ts';

export interface ProductInput {
  sku: string;
  name: string;
  priceCents: number;
  /** Units available for sale. */
  stock: number;
}

/** Creates or updates a product; `stock` sets the units available for sale. */
export function upsertProduct(db: Db, input: ProductInput, now: number): Promise<{ product: ProductRow; created: boolean }> {
  return writeTx(db, async (tx) => {
    const { products } = tx.tables;
    const [existing] = await tx.select().from(products).where(eq(products.sku, input.sku));
    const [product] = await tx
      .insert(products)
      .values({ sku: input.sku, name: input.name, priceCents: input.priceCents, available: input.stock, updatedAt: now })
      .onConflictDoUpdate({
        target: products.sku,
        set: { name: input.name, priceCents: input.priceCents, available: input.stock, updatedAt: now },
      })
      .returning();
    return { product: product!, created: existing === undefined };
  });
}

export function listProducts(db: Db): Promise<ProductRow[]> {
  const { products } = db.tables;
  return db.select().from(products).orderBy(asc(products.sku));
}

export type ReserveResult = 'reserved' | 'out_of_stock' | 'skipped';

/**
 * The transactions that move stock run at READ COMMITTED on PostgreSQL, holding their order's row
 * (`lockOrder`): two of them for one order run one after the other, and a conditional update of a
 * product's row that another committed meanwhile is checked again on the row as it now is, where
 * REPEATABLE READ would fail every transaction but one on a popular product's row and run them again.
 */
export const STOCK_TX = { isolation: 'read committed' } as const;

/**
 * For a PaymentSucceeded job: reserve every line of a PAID order, or none of them. The order's
 * transition and the reservation are written together (stock-moves.ts says in which order and
 * why); a short line rolls the whole transaction back, and `failReservation` decides again from
 * scratch, where a short line fails the order.
 */
export async function reserveStock(db: Db, orderId: string, now: number): Promise<ReserveResult> {
  try {
    return await writeTx(
      db,
      async (tx) => {
        const order = await lockOrder(tx, orderId);
        if (!order || !canApply(order.status, 'InventoryReserved')) return 'skipped';
        await transition(tx, order, 'InventoryReserved', now, { stock: 'reserve' });
        return 'reserved';
      },
      STOCK_TX,
    );
  } catch (error) {
    if (!(error instanceof Shortage)) throw error;
    return failReservation(db, orderId, now);
  }
}

/**
 * The reservation again, after a short line: all lines in one savepoint, where one short line
 * rolls the others back and fails the order (or, if stock came back meanwhile, reserves it).
 */
function failReservation(db: Db, orderId: string, now: number): Promise<ReserveResult> {
  return writeTx(
    db,
    async (tx) => {
      const order = await lockOrder(tx, orderId);
      if (!order || !canApply(order.status, 'InventoryReserved')) return 'skipped';
      const items = await orderItemsOf(tx, orderId);
      try {
        await writeTx(tx, (sp) => moveLines(sp, items, 'reserve'));
      } catch (error) {
        if (!(error instanceof Shortage)) throw error;
        await transition(tx, order, 'InventoryReservationFailed', now, { data: { sku: error.sku } });
        return 'out_of_stock';
      }
      await transition(tx, order, 'InventoryReserved', now);
      return 'reserved';
    },
    STOCK_TX,
  );
}

/** For a StockReleaseRequested job: give an ended order's reserved units back to sale. */
export function releaseStock(db: Db, orderId: string, now: number): Promise<boolean> {
  return writeTx(
    db,
    async (tx) => {
      const order = await lockOrder(tx, orderId);
      if (!order || !mayReleaseStock(order)) return false;
      await recordFact(tx, order, 'StockReleased', now, { stock: 'release' });
      return true;
    },
    STOCK_TX,
  );
}

/** Refuses to ship an order that holds no reserved stock (the shipment's transition then moves it). */
export function assertStockToShip(order: OrderRow): void {
  if (!STOCK_MOVES[order.stockStatus].ShipmentCreated)
    throw new InvariantViolation(`order ${order.id}: no reserved stock to ship`);
}
