/**
 * Which customer notifications were sent, so that each goes out once per (order, kind).
 */
import { and, eq } from 'drizzle-orm';
import type { NotificationKind } from '../domain/events.ts';
import type { Db } from './client.ts';
import { findOrder } from './orders.ts';
import { sentNotifications, type OrderRow } from './schema.ts';

/** The order to notify, unless this kind was already sent for it. */
export function planNotification(db: Db, orderId: string, kind: NotificationKind): OrderRow | undefined {
  const sent = db
    .select({ kind: sentNotifications.kind })
    .from(sentNotifications)
    .where(and(eq(sentNotifications.orderId, orderId), eq(sentNotifications.kind, kind)))
    .get();
  return sent ? undefined : findOrder(db, orderId);
}

export function recordNotification(db: Db, orderId: string, kind: NotificationKind, now: number): void {
  db.insert(sentNotifications).values({ orderId, kind, sentAt: now }).onConflictDoNothing().run();
}
