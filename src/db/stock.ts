/**
 * The catalog and its stock. Stock is conserved per SKU (available + reserved + shipped never
 * changes but through the catalog), and every move is a conditional update, so that no
 * interleaving of workers can take `available` below zero.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { InvariantViolation } from '../domain/errors.ts';
import { canApply, mayReleaseStock, STOCK_MOVES } from '../domain/order-machine.ts';
import { prepared, writeTx, type Db, type Tx } from './client.ts';
import { rowsChanged } from './dialect.ts';
import { lockOrder, orderItemsOf } from './orders.ts';
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
export function upsertProduct(db: Db, input: ProductInput, now: number): Promise<{ product: ProductRow; created: boolean }> {
  return writeTx(db, async (tx) => {
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
  return db.select().from(products).orderBy(asc(products.sku));
}

class Shortage extends Error {
  constructor(readonly sku: string) {
    super(`not enough ${sku}`);
  }
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
 * For a PaymentSucceeded job: reserve every line of a PAID order, or none of them.
 *
 * A product's row is what every order for it writes: its lock is the one workers queue on. So the
 * order's own writes come first and the products' rows last, and each is held only for the
 * commit. A line found short rolls the whole transaction back, and `failReservation` decides again
 * from scratch, where a short line fails the order.
 */
export async function reserveStock(db: Db, orderId: string, now: number): Promise<ReserveResult> {
  try {
    return await writeTx(
      db,
      async (tx) => {
        const order = await lockOrder(tx, orderId);
        if (!order || !canApply(order.status, 'InventoryReserved')) return 'skipped';
        const items = bySku(await orderItemsOf(tx, orderId));
        await transition(tx, order, 'InventoryReserved', now);
        await takeStock(tx, items);
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
      const items = bySku(await orderItemsOf(tx, orderId));
      try {
        await writeTx(tx, (sp) => takeStock(sp, items));
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

/** Moves each line from available to reserved, in SKU order; throws `Shortage` for a short one. */
async function takeStock(tx: Tx, items: OrderItemRow[]): Promise<void> {
  for (const item of items) {
    const result = await prepared(tx, build).reserve.execute({ sku: item.sku, quantity: item.quantity });
    if (rowsChanged(result) === 0) throw new Shortage(item.sku);
  }
}

/** For a StockReleaseRequested job: give an ended order's reserved units back to sale. */
export function releaseStock(db: Db, orderId: string, now: number): Promise<boolean> {
  return writeTx(
    db,
    async (tx) => {
      const order = await lockOrder(tx, orderId);
      if (!order || !mayReleaseStock(order)) return false;
      const items = await orderItemsOf(tx, orderId);
      await recordFact(tx, order, 'StockReleased', now);
      await moveReserved(tx, items, 'available');
      return true;
    },
    STOCK_TX,
  );
}

/**
 * Reserved units leave the warehouse with the shipment; call in the shipment's transaction, which
 * runs as `STOCK_TX` with the order locked, after the order's own writes (the products' rows are
 * the contended ones: see `reserveStock`). `order` is the order as it was before the shipment.
 */
export async function shipReservedStock(tx: Tx, order: OrderRow): Promise<void> {
  if (!STOCK_MOVES[order.stockStatus].ShipmentCreated)
    throw new InvariantViolation(`order ${order.id}: no reserved stock to ship`);
  await moveReserved(tx, await orderItemsOf(tx, order.id), 'shipped');
}

async function moveReserved(tx: Tx, items: OrderItemRow[], to: 'available' | 'shipped'): Promise<void> {
  const move = to === 'available' ? prepared(tx, build).release : prepared(tx, build).ship;
  for (const item of bySku(items)) await move.execute({ sku: item.sku, quantity: item.quantity });
}

/** The stock moves, prepared once per connection; each is one conditional or relative update. */
/** In SKU order: two transactions for the same SKUs take the products' rows in the same order. */
function bySku(items: OrderItemRow[]): OrderItemRow[] {
  return items.toSorted((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

function build(db: Db) {
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
