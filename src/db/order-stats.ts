/**
 * Counts over every order, for the metrics and the console: orders per status, and the status
 * changes recorded since a point.
 */
import { and, gt, lte, sql } from 'drizzle-orm';
import { ORDER_STATUSES, type OrderStatus } from '../domain/order-machine.ts';
import type { Db } from './client.ts';

/** How many orders rest in each status (every status, zero included). */
export async function countOrdersByStatus(db: Db): Promise<Record<OrderStatus, number>> {
  const { orders } = db.tables;
  const counts = Object.fromEntries(ORDER_STATUSES.map((s) => [s, 0])) as Record<OrderStatus, number>;
  const rows = await db.select({ status: orders.status, n: sql<number>`count(*)` }).from(orders).groupBy(orders.status);
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * The status changes recorded on timelines after entry `afterId`, counted by event, and the last
 * entry seen: lets a reader keep running totals by reading only what is new.
 */
export async function transitionsSince(db: Db, afterId: number): Promise<{ lastId: number; byEvent: Map<string, number> }> {
  const { orderEvents } = db.tables;
  // Fix the upper bound first: entries written meanwhile are counted by the next read.
  const [top] = await db.select({ last: sql<number | null>`max(${orderEvents.id})` }).from(orderEvents);
  const lastId = top?.last ?? afterId;
  const rows = await db
    .select({ type: orderEvents.type, n: sql<number>`count(*)` })
    .from(orderEvents)
    .where(
      and(
        gt(orderEvents.id, afterId),
        lte(orderEvents.id, lastId),
        // Facts (a refund, a stock release) keep the status; OrderPlaced comes from nowhere.
        sql`${orderEvents.fromStatus} IS DISTINCT FROM ${orderEvents.toStatus}`,
      ),
    )
    .groupBy(orderEvents.type);
  return { lastId, byEvent: new Map(rows.map((r) => [r.type, r.n])) };
}
