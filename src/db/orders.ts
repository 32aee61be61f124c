/**
 * Reading an order: the order, its items and its timeline.
 */
import { asc, eq } from 'drizzle-orm';
import { NotFoundError } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';
import type { Db } from './client.ts';
import { orderEvents, type OrderEventRow, type OrderItemRow, type OrderRow } from './schema.ts';
import { statements } from './statements.ts';

export interface OrderWithItems extends OrderRow {
  items: OrderItemRow[];
}

export function findOrder(db: Db, id: string): OrderRow | undefined {
  return statements(db).findOrder.get({ id });
}

export function getOrder(db: Db, id: string): OrderWithItems {
  return { ...existingOrder(db, id), items: orderItemsOf(db, id) };
}

function existingOrder(db: Db, id: string): OrderRow {
  const order = findOrder(db, id);
  if (!order) throw new NotFoundError(`No order has the id ${quote(id)}.`);
  return order;
}

export function orderItemsOf(db: Db, id: string): OrderItemRow[] {
  return statements(db).orderItems.all({ id });
}

export function getTimeline(db: Db, id: string): OrderEventRow[] {
  existingOrder(db, id);
  return db.select().from(orderEvents).where(eq(orderEvents.orderId, id)).orderBy(asc(orderEvents.id)).all();
}
