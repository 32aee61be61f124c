/**
 * The statements every order runs several times (read it, write its status, append to its
 * timeline and its outbox), built once per connection with drizzle's prepare(): building a
 * query's SQL costs more than running it, and these run dozens of times per order.
 */
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { connectionOf, type Db } from './client.ts';
import { orderEvents, orderItems, orders, outbox } from './schema.ts';

function build(db: Db) {
  const p = (name: string) => sql.placeholder(name);
  // A bare value, not passed through the column's encoder (update sets take SQL, not placeholders).
  const raw = (name: string) => sql`${p(name)}`;
  return {
    findOrder: db.select().from(orders).where(eq(orders.id, p('id'))).prepare(),
    orderItems: db.select().from(orderItems).where(eq(orderItems.orderId, p('id'))).orderBy(asc(orderItems.line)).prepare(),
    writeOrder: db
      .update(orders)
      .set({
        status: raw('status'),
        reason: raw('reason'),
        paymentStatus: raw('paymentStatus'),
        stockStatus: raw('stockStatus'),
        trackingNumber: raw('trackingNumber'),
        chargeId: raw('chargeId'),
        updatedAt: raw('updatedAt'),
      })
      .where(eq(orders.id, p('id')))
      .prepare(),
    /** `data` is the JSON text of the entry's data, or null. */
    appendTimeline: db
      .insert(orderEvents)
      .values({ orderId: p('orderId'), type: p('type'), fromStatus: p('from'), toStatus: p('to'), at: p('at'), data: raw('data') })
      .prepare(),
    emit: db
      .insert(outbox)
      .values({ orderId: p('orderId'), type: p('type'), createdAt: p('createdAt'), runAt: p('runAt') })
      .returning({ id: outbox.id })
      .prepare(),
    /** `ids` is a JSON array: one statement for any number of rows. */
    markDispatched: db
      .update(outbox)
      .set({ dispatchedAt: raw('at') })
      .where(and(sql`${outbox.id} IN (SELECT value FROM json_each(${p('ids')}))`, isNull(outbox.dispatchedAt)))
      .prepare(),
  };
}

export type Statements = ReturnType<typeof build>;

const built = new WeakMap<Db['$client'], Statements>();

/** The prepared statements of the connection `db` (or the transaction `db`) runs on. */
export function statements(db: Db): Statements {
  const connection = connectionOf(db);
  let found = built.get(connection.$client);
  if (!found) built.set(connection.$client, (found = build(connection)));
  return found;
}
