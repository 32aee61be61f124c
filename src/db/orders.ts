/**
 * Reading an order: the order, its items and its timeline.
 */
import { asc, eq, placeholder } from 'drizzle-orm';
import { NotFoundError } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';
import { prepared, type Db, type Tx, type TxOptions } from './client.ts';
import { orderEvents, orders, type OrderEventRow, type OrderItemRow, type OrderRow } from './schema.ts';
import { statements } from './statements.ts';

export interface OrderWithItems extends OrderRow {
  items: OrderItemRow[];
}

export async function findOrder(db: Db | Tx, id: string): Promise<OrderRow | undefined> {
  return (await statements(db).findOrder.execute({ id }))[0];
}

/**
 * How a transaction that moves a product's stock runs. Every order for a product moves the same
 * row, so at SERIALIZABLE on PostgreSQL concurrent reservations and shipments of one product fail
 * each other (40001) and run again, many times over for a popular product. READ COMMITTED is safe
 * for them: the stock moves are conditional or relative updates, which PostgreSQL re-evaluates on
 * the row's latest version, and the order they read and write is locked first
 * (`findOrderForUpdate`), so no one else moves it between the read and the write. SQLite's writes
 * are serial whatever this says.
 */
export const STOCK_MOVE_TX: TxOptions = { isolation: 'read committed' };

/**
 * The order, locked until the transaction ends (PostgreSQL `FOR UPDATE`): for a transaction at
 * READ COMMITTED that writes on what it read of the order. On SQLite, where writes are serial,
 * the plain read.
 */
export async function findOrderForUpdate(tx: Tx, id: string): Promise<OrderRow | undefined> {
  if (tx.connection.engine === 'sqlite') return findOrder(tx, id);
  return (await prepared(tx, buildLocked).execute({ id }))[0];
}

function buildLocked(db: Db) {
  return db
    .select()
    .from(orders)
    .where(eq(orders.id, placeholder('id')))
    .for('update')
    .prepare('order_find_locked');
}

export async function getOrder(db: Db | Tx, id: string): Promise<OrderWithItems> {
  return { ...(await existingOrder(db, id)), items: await orderItemsOf(db, id) };
}

async function existingOrder(db: Db | Tx, id: string): Promise<OrderRow> {
  const order = await findOrder(db, id);
  if (!order) throw new NotFoundError(`No order has the id ${quote(id)}.`);
  return order;
}

export function orderItemsOf(db: Db | Tx, id: string): Promise<OrderItemRow[]> {
  return statements(db).orderItems.execute({ id });
}

export async function getTimeline(db: Db | Tx, id: string): Promise<OrderEventRow[]> {
  await existingOrder(db, id);
  return db.select().from(orderEvents).where(eq(orderEvents.orderId, id)).orderBy(asc(orderEvents.id));
}
