/**
 * The statements every order runs several times (read it, write its status, append to its
 * timeline and its outbox), built once per connection with drizzle's prepare(): building a
 * query's SQL costs more than running it, and these run dozens of times per order.
 */
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { connectionOf, type Db } from './client.ts';
import { orderEvents, orderItems, orders, outbox, products } from './schema.ts';

/** A named placeholder, and the same passed as a bare value (for update sets and SQL fragments). */
export const p = (name: string) => sql.placeholder(name);
export const raw = (name: string) => sql`${p(name)}`;

function build(db: Db) {
  return {
    /** `skus` is a JSON array. */
    prices: db
      .select({ sku: products.sku, priceCents: products.priceCents, available: products.available })
      .from(products)
      .where(sql`${products.sku} IN (SELECT value FROM json_each(${p('skus')}))`)
      .prepare(),
    insertOrder: db
      .insert(orders)
      .values({
        id: p('id'),
        status: p('status'),
        paymentStatus: p('paymentStatus'),
        stockStatus: p('stockStatus'),
        reason: p('reason'),
        customerId: p('customerId'),
        email: p('email'),
        totalCents: p('totalCents'),
        currency: p('currency'),
        paymentToken: p('paymentToken'),
        chargeId: p('chargeId'),
        shippingAddress: p('shippingAddress'),
        trackingNumber: p('trackingNumber'),
        createdAt: p('createdAt'),
        updatedAt: p('updatedAt'),
      })
      .prepare(),
    insertItem: db
      .insert(orderItems)
      .values({ orderId: p('orderId'), line: p('line'), sku: p('sku'), quantity: p('quantity'), unitPriceCents: p('unitPriceCents') })
      .prepare(),
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
      .values({
        orderId: p('orderId'),
        type: p('type'),
        createdAt: p('createdAt'),
        runAt: p('runAt'),
        redrive: p('redrive'),
        traceparent: p('traceparent'),
      })
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

/** The order statements of the connection `db` (or the transaction `db`) runs on. */
export function statements(db: Db): Statements {
  return prepared(db, build);
}

const built = new WeakMap<Db['$client'], Map<(db: Db) => unknown, unknown>>();

/**
 * What `build` prepares, once per connection: modules keep their own hot statements this way
 * (`build` must be a module-level function, the cache's key).
 */
export function prepared<T>(db: Db, build: (db: Db) => T): T {
  const connection = connectionOf(db);
  let byBuilder = built.get(connection.$client);
  if (!byBuilder) built.set(connection.$client, (byBuilder = new Map()));
  let found = byBuilder.get(build) as T | undefined;
  if (found === undefined) byBuilder.set(build, (found = build(connection)));
  return found;
}

