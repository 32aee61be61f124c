/**
 * Reading an order: the order, its items and its timeline.
 */
import { asc, eq } from 'drizzle-orm';
import { NotFoundError } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';
import type { Db, Tx } from './client.ts';
import type { OrderEventRow, OrderItemRow, OrderRow } from './schema.ts';
import { statements } from './statements.ts';

export interface OrderWithItems extends OrderRow {
  items: OrderItemRow[];
}

export async function findOrder(db: Db | Tx, id: string): Promise<OrderRow | undefined> {
  return (await statements(db).findOrder.execute({ id }))[0];
}

/**
 * The order, locked until `tx` ends: on PostgreSQL, a transaction that runs at READ COMMITTED
 * takes the order this way before it decides on its status, so that two of them for one order
 * (a job delivered twice) run one after the other and the second sees what the first wrote.
 */
export async function lockOrder(tx: Tx, id: string): Promise<OrderRow | undefined> {
  return (await statements(tx).lockOrder.execute({ id }))[0];
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
  const { orderEvents } = db.tables;
  return db.select().from(orderEvents).where(eq(orderEvents.orderId, id)).orderBy(asc(orderEvents.id));
}
