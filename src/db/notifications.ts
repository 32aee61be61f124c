/**
 * Which customer notifications were sent, so that each goes out once per (order, kind).
 *
 * A (order, kind) recorded here is settled: sent, or refused for good by the mail server (the
 * order's timeline then holds a NotificationRefused entry saying so). Either way the reconciler
 * stops asking for it.
 */
import { and, eq } from 'drizzle-orm';
import type { NotificationKind } from '../domain/events.ts';
import type { MessageFacts } from '../domain/ports.ts';
import { writeTx, type Db } from './client.ts';
import { findOrder, orderItemsOf } from './orders.ts';
import { recordFact } from './transitions.ts';
import { placeholder, placeholderSql } from './statements.ts';
import { sentNotifications, type OrderRow } from './schema.ts';

/** The order to notify, unless this kind was already sent for it. */
export function planNotification(db: Db, orderId: string, kind: NotificationKind): OrderRow | undefined {
  const sent = db.connection.statements(build).sent.get({ orderId, kind });
  return sent ? undefined : findOrder(db, orderId);
}

/** The kinds of message already sent for an order. */
export function sentKinds(db: Db, orderId: string): Set<NotificationKind> {
  const rows = db
    .select({ kind: sentNotifications.kind })
    .from(sentNotifications)
    .where(eq(sentNotifications.orderId, orderId))
    .all();
  return new Set(rows.map((r) => r.kind));
}

/** What a message to the customer of `order` says about it. */
export function messageFacts(db: Db, order: OrderRow): MessageFacts {
  return {
    orderId: order.id,
    customerName: order.shippingAddress.name,
    items: orderItemsOf(db, order.id),
    totalCents: order.totalCents,
    currency: order.currency,
    trackingNumber: order.trackingNumber,
    reason: order.reason,
  };
}

export function recordNotification(db: Db, orderId: string, kind: NotificationKind, now: number): void {
  db.connection.statements(build).record.run({ orderId, kind, sentAt: now });
}

/**
 * A message the mail server refused for good (a 5xx reply): the refusal goes on the order's
 * timeline and the (order, kind) is settled, in one transaction, so it is never sent again.
 */
export function recordNotificationRefused(
  db: Db,
  orderId: string,
  kind: NotificationKind,
  refusal: { code: number; reason: string },
  now: number,
): void {
  writeTx(db, (tx) => {
    if (tx.connection.statements(build).sent.get({ orderId, kind })) return;
    const order = findOrder(tx, orderId);
    if (!order) return;
    recordFact(tx, order, 'NotificationRefused', now, { data: { kind, code: refusal.code, reason: refusal.reason } });
    tx.connection.statements(build).record.run({ orderId, kind, sentAt: now });
  });
}

function build(db: Db) {
  return {
    sent: db
      .select({ kind: sentNotifications.kind })
      .from(sentNotifications)
      .where(and(eq(sentNotifications.orderId, placeholder('orderId')), eq(sentNotifications.kind, placeholderSql('kind'))))
      .prepare(),
    record: db
      .insert(sentNotifications)
      .values({ orderId: placeholder('orderId'), kind: placeholder('kind'), sentAt: placeholder('sentAt') })
      .onConflictDoNothing()
      .prepare(),
  };
}
