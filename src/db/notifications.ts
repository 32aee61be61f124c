/**
 * Which customer notifications were sent, so that each goes out once per (order, kind), or, for a
 * message about one refund or return, once per (that refund or return, kind): its `subject`.
 *
 * A (order, kind) recorded here is settled: sent, or refused for good by the mail server (the
 * order's timeline then holds a NotificationRefused entry saying so). Either way the reconciler
 * stops asking for it.
 */
import { and, eq, notExists } from 'drizzle-orm';
import type { NotificationKind } from '../domain/events.ts';
import type { MessageFacts } from '../domain/ports.ts';
import { prepared, type Db, type Tx } from './client.ts';
import { findOrder, orderItemsOf } from './orders.ts';
import { recordFact } from './transitions.ts';
import { placeholder, placeholderSql } from './statements.ts';
import type { OrderRow } from './schema.ts';

/** The order to notify, unless this kind was already sent for it. */
export async function planNotification(db: Db | Tx, orderId: string, kind: NotificationKind): Promise<OrderRow | undefined> {
  return (await prepared(db, build).unsent.execute({ orderId, kind }))[0];
}

/** The subject of a message about the order itself. */
export const ORDER_ITSELF = '';

/** The kinds of message about the order itself already sent for it. */
export async function sentKinds(db: Db | Tx, orderId: string): Promise<Set<NotificationKind>> {
  const { sentNotifications } = db.tables;
  const rows = await db
    .select({ kind: sentNotifications.kind })
    .from(sentNotifications)
    .where(and(eq(sentNotifications.orderId, orderId), eq(sentNotifications.subject, ORDER_ITSELF)));
  return new Set(rows.map((r) => r.kind));
}

/** What a message to the customer of `order` says about it. */
export async function messageFacts(db: Db | Tx, order: OrderRow): Promise<MessageFacts> {
  return {
    orderId: order.id,
    customerName: order.shippingAddress.name,
    items: await orderItemsOf(db, order.id),
    totalCents: order.totalCents,
    currency: order.currency,
    trackingNumber: order.trackingNumber,
    reason: order.reason,
  };
}

/** Records a sent message: one statement, on whatever handle (a transaction's, or the pool's for writeOne). */
export async function recordNotification(
  handle: Db | Tx,
  orderId: string,
  kind: NotificationKind,
  now: number,
  subject: string = ORDER_ITSELF,
): Promise<void> {
  await prepared(handle, build).record.execute({ orderId, kind, subject, sentAt: now });
}

/**
 * A message the mail server refused for good (a 5xx reply): the refusal goes on the order's
 * timeline and the (order, kind) is settled, in one transaction, so it is never sent again.
 */
export async function recordNotificationRefused(
  tx: Tx,
  orderId: string,
  kind: NotificationKind,
  refusal: { code: number; reason: string },
  now: number,
  subject: string = ORDER_ITSELF,
): Promise<void> {
  if ((await prepared(tx, build).sent.execute({ orderId, kind, subject })).length > 0) return;
  const order = await findOrder(tx, orderId);
  if (!order) return;
  await recordFact(tx, order, 'NotificationRefused', now, {
    data: { kind, code: refusal.code, reason: refusal.reason, ...(subject ? { subject } : {}) },
  });
  await prepared(tx, build).record.execute({ orderId, kind, subject, sentAt: now });
}

function build(db: Db) {
  const { orders, sentNotifications } = db.tables;
  return {
    /** The order, unless the kind was sent for it: one statement where there were two. */
    unsent: db
      .select()
      .from(orders)
      .where(
        and(
          eq(orders.id, placeholder('orderId')),
          notExists(
            db
              .select({ kind: sentNotifications.kind })
              .from(sentNotifications)
              .where(
                and(
                  eq(sentNotifications.orderId, orders.id),
                  eq(sentNotifications.kind, placeholderSql('kind')),
                  eq(sentNotifications.subject, ORDER_ITSELF),
                ),
              ),
          ),
        ),
      )
      .prepare('notification_unsent'),
    sent: db
      .select({ kind: sentNotifications.kind })
      .from(sentNotifications)
      .where(
        and(
          eq(sentNotifications.orderId, placeholder('orderId')),
          eq(sentNotifications.kind, placeholderSql('kind')),
          eq(sentNotifications.subject, placeholderSql('subject')),
        ),
      )
      .prepare('notification_sent'),
    record: db
      .insert(sentNotifications)
      .values({
        orderId: placeholder('orderId'),
        kind: placeholder('kind'),
        subject: placeholder('subject'),
        sentAt: placeholder('sentAt'),
      })
      .onConflictDoNothing()
      .prepare('notification_record'),
  };
}
