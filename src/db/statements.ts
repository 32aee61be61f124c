/**
 * The statements every order runs several times (read it, write its status, append to its
 * timeline and its outbox), built once per connection with drizzle's prepare(): building a
 * query's SQL costs more than running it, and these run dozens of times per order.
 */
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { prepared, type Db, type Tx } from './client.ts';
import { forUpdate, oneOf } from './dialect.ts';

/** A named placeholder of a prepared statement, given its value at each run. */
export const placeholder = (name: string) => sql.placeholder(name);
/** The same placeholder as an SQL fragment: where drizzle takes SQL, not a value (update sets, conditions). */
export const placeholderSql = (name: string) => sql`${placeholder(name)}`;

function build(db: Db) {
  const { orderEvents, orderItems, orders, outbox, products } = db.tables;
  return {
    /** `skus` is a list (dialect.ts `listValue`). */
    prices: db
      .select({ sku: products.sku, priceCents: products.priceCents, available: products.available })
      .from(products)
      .where(oneOf(db, products.sku, 'skus'))
      .prepare('order_prices'),
    insertOrder: db
      .insert(orders)
      .values({
        id: placeholder('id'),
        status: placeholder('status'),
        paymentStatus: placeholder('paymentStatus'),
        stockStatus: placeholder('stockStatus'),
        reason: placeholder('reason'),
        customerId: placeholder('customerId'),
        email: placeholder('email'),
        totalCents: placeholder('totalCents'),
        currency: placeholder('currency'),
        paymentToken: placeholder('paymentToken'),
        chargeId: placeholder('chargeId'),
        shippingAddress: placeholder('shippingAddress'),
        trackingNumber: placeholder('trackingNumber'),
        version: placeholder('version'),
        createdAt: placeholder('createdAt'),
        updatedAt: placeholder('updatedAt'),
      })
      .prepare('order_insert'),
    insertItem: db
      .insert(orderItems)
      .values({
        orderId: placeholder('orderId'),
        line: placeholder('line'),
        sku: placeholder('sku'),
        quantity: placeholder('quantity'),
        unitPriceCents: placeholder('unitPriceCents'),
      })
      .prepare('order_item_insert'),
    findOrder: db
      .select()
      .from(orders)
      .where(eq(orders.id, placeholder('id')))
      .prepare('order_find'),
    /** The order, locked until the transaction ends (PostgreSQL; dialect.ts `forUpdate`). */
    lockOrder: forUpdate(
      db,
      db
        .select()
        .from(orders)
        .where(eq(orders.id, placeholder('id'))),
    ).prepare('order_lock'),
    orderItems: db
      .select()
      .from(orderItems)
      .where(eq(orderItems.orderId, placeholder('id')))
      .orderBy(asc(orderItems.line))
      .prepare('order_items'),
    writeOrder: db
      .update(orders)
      .set({
        status: placeholderSql('status'),
        reason: placeholderSql('reason'),
        paymentStatus: placeholderSql('paymentStatus'),
        stockStatus: placeholderSql('stockStatus'),
        trackingNumber: placeholderSql('trackingNumber'),
        chargeId: placeholderSql('chargeId'),
        version: placeholderSql('version'),
        updatedAt: placeholderSql('updatedAt'),
      })
      .where(eq(orders.id, placeholder('id')))
      .prepare('order_write'),
    /** `data` is the JSON text of the entry's data, or null. */
    appendTimeline: db
      .insert(orderEvents)
      .values({
        orderId: placeholder('orderId'),
        type: placeholder('type'),
        fromStatus: placeholder('from'),
        toStatus: placeholder('to'),
        at: placeholder('at'),
        data: placeholderSql('data'),
      })
      .prepare('timeline_append'),
    emit: db
      .insert(outbox)
      .values({
        orderId: placeholder('orderId'),
        type: placeholder('type'),
        createdAt: placeholder('createdAt'),
        runAt: placeholder('runAt'),
        redrive: placeholder('redrive'),
        traceparent: placeholder('traceparent'),
      })
      .returning({ id: outbox.id })
      .prepare('outbox_emit'),
    /** `ids` is a list (dialect.ts `listValue`): one statement for any number of rows. */
    markDispatched: db
      .update(outbox)
      .set({ dispatchedAt: placeholderSql('at') })
      .where(and(oneOf(db, outbox.id, 'ids'), isNull(outbox.dispatchedAt)))
      .prepare('outbox_mark_dispatched'),
  };
}

export type Statements = ReturnType<typeof build>;

/** The order statements of the session `db` (a handle or a transaction) runs on. */
export function statements(db: Db | Tx): Statements {
  return prepared(db, build);
}
