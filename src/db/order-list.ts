/**
 * Orders as an operator looks for them: newest first, by status, by customer, or stuck, a page at
 * a time. Order ids are `ord_<ULID>`, so id order is creation order and a page ends at an id:
 * the next page starts below it, whatever was placed meanwhile.
 */
import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { OrderStatus } from '../domain/order-machine.ts';
import type { Db } from './client.ts';
import type { OrderWithItems } from './orders.ts';
import { stuckSince } from './reconcile.ts';
import type { OrderRow } from './schema.ts';

export interface OrderListQuery {
  status?: OrderStatus;
  customerId?: string;
  /** The address the customer gave (the console's search). */
  email?: string;
  /** Only orders stuck since this time (not at rest, and not moved since). */
  stuckBefore?: number;
  limit: number;
  /** The last id of the previous page: this page holds older orders only. */
  before?: string;
}

export interface OrderPage {
  orders: OrderWithItems[];
  /** The id to pass as `before` for the next page; null on the last page. */
  nextBefore: string | null;
}

export async function listOrders(db: Db, query: OrderListQuery): Promise<OrderPage> {
  const { orders } = db.tables;
  const conditions: SQL[] = [];
  if (query.status)
    conditions.push(await statusIs(db, query.status, query.customerId === undefined && query.stuckBefore === undefined));
  if (query.customerId !== undefined) conditions.push(eq(orders.customerId, query.customerId));
  if (query.email !== undefined) conditions.push(eq(orders.email, query.email));
  // Stuck orders are few and found by index; reading them first spares a walk over all orders.
  if (query.stuckBefore !== undefined) {
    conditions.push(
      inArray(orders.id, db.select({ id: orders.id }).from(orders).where(stuckSince(db.tables, query.stuckBefore))),
    );
  }
  if (query.before !== undefined) conditions.push(lt(orders.id, query.before));
  // One more than asked says whether another page follows.
  const rows = await db
    .select()
    .from(orders)
    .where(and(...conditions))
    .orderBy(desc(orders.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const more = rows.length > query.limit;
  return { orders: await withItems(db, page), nextBefore: more ? page.at(-1)!.id : null };
}

/** The order that has this tracking number, if any (the console's search). */
export async function orderIdByTrackingNumber(db: Db, trackingNumber: string): Promise<string | undefined> {
  const { orders } = db.tables;
  const [row] = await db.select({ id: orders.id }).from(orders).where(eq(orders.trackingNumber, trackingNumber)).limit(1);
  return row?.id;
}

/** Above this many orders in a status, a page of them is found by walking ids rather than by status. */
export const FEW_IN_STATUS = 10_000;

/**
 * The status filter, written so that SQLite finds a page fast without an index on (status, id).
 * The (status, updated_at) index finds a status's orders, but not in id order: fine for a status
 * that holds few orders, which are then sorted; for a common one, walking ids newest first and
 * skipping the others fills a page sooner (`+status` keeps SQLite off the status index).
 * PostgreSQL's planner weighs the two paths by its statistics, and has no `+` for text.
 */
async function statusIs(db: Db, status: OrderStatus, alone: boolean): Promise<SQL> {
  const { orders } = db.tables;
  if (!alone || db.connection.engine === 'postgres') return eq(orders.status, status);
  const some = db
    .select({ one: sql`1` })
    .from(orders)
    .where(eq(orders.status, status))
    .limit(FEW_IN_STATUS + 1)
    .as('some');
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(some);
  const n = row?.n ?? 0;
  return n <= FEW_IN_STATUS ? eq(orders.status, status) : sql`+${orders.status} = ${status}`;
}

/** How many orders are stuck since `cutoff`. */
export async function countStuck(db: Db, cutoff: number): Promise<number> {
  const { orders } = db.tables;
  const [row] = await db.select({ n: sql<number>`count(*)` }).from(orders).where(stuckSince(db.tables, cutoff));
  return row?.n ?? 0;
}

async function withItems(db: Db, rows: OrderRow[]): Promise<OrderWithItems[]> {
  if (rows.length === 0) return [];
  const { orderItems } = db.tables;
  const items = await db
    .select()
    .from(orderItems)
    .where(
      inArray(
        orderItems.orderId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(asc(orderItems.orderId), asc(orderItems.line));
  return rows.map((row) => ({ ...row, items: items.filter((i) => i.orderId === row.id) }));
}

/** The events an order's transactions wrote to the outbox and that are still kept there. */
export function outboxOf(db: Db, orderId: string) {
  const { outbox } = db.tables;
  return db
    .select({ id: outbox.id, type: outbox.type, createdAt: outbox.createdAt, dispatchedAt: outbox.dispatchedAt })
    .from(outbox)
    .where(eq(outbox.orderId, orderId))
    .orderBy(asc(outbox.id));
}

/** The customer messages sent for an order, in the order they went out. */
export function sentMessages(db: Db, orderId: string) {
  const { sentNotifications } = db.tables;
  return db
    .select({ kind: sentNotifications.kind, subject: sentNotifications.subject, sentAt: sentNotifications.sentAt })
    .from(sentNotifications)
    .where(eq(sentNotifications.orderId, orderId))
    .orderBy(asc(sentNotifications.sentAt));
}

/** Whether one order is stuck since `cutoff`, by the same test as the list. */
export async function isStuck(db: Db, orderId: string, cutoff: number): Promise<boolean> {
  const { orders } = db.tables;
  const rows = await db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.id, orderId), stuckSince(db.tables, cutoff)));
  return rows.length > 0;
}
