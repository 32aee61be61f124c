/**
 * The reconciler's look at messages about refunds and returns (db/subject-messages.ts): an order
 * whose refund settled, or whose return moved, within the look-back window without the message
 * that step owes (its job lost with Redis's data, say) is found here, and the event that sends it
 * is written again. Apart from reconcile.ts, which reads the order's own row.
 */
import { and, eq, gt, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { SUBJECT_NOTIFICATION_KINDS, type OutboxEvent } from '../domain/events.ts';
import { eventForNotification } from '../domain/order-machine.ts';
import { owedReturnMessages, RETURN_STATUSES } from '../domain/return-machine.ts';
import type { Db, Tx } from './client.ts';
import type { OrderRow } from './schema.ts';
import { unsentSubjectKinds } from './subject-messages.ts';

/** The events that send the messages about the order's refunds and returns it is still owed. */
export async function unsentSubjectEvents(db: Db | Tx, orderId: string): Promise<OutboxEvent[]> {
  return (await unsentSubjectKinds(db, orderId, SUBJECT_NOTIFICATION_KINDS)).map(eventForNotification);
}

/**
 * Orders with a refund settled, or a return moved, between `since` and `cutoff` that lack a
 * message the refund or return owes; `quiet` is the caller's "nothing on its way" condition. The
 * search starts from the refunds and returns of the window, never from every order.
 */
export async function subjectMessageCandidates(
  db: Db,
  cutoff: number,
  since: number,
  limit: number,
  quiet: SQL,
): Promise<OrderRow[]> {
  const { orders, refunds, returns, sentNotifications: sent } = db.tables;
  const unsent = (kind: string, orderId: SQL, subject: SQL) =>
    sql`NOT EXISTS (SELECT 1 FROM ${sent} WHERE ${sent.orderId} = ${orderId} AND ${sent.kind} = ${kind} AND ${sent.subject} = ${subject})`;
  const refunded = await db
    .selectDistinct({ id: refunds.orderId })
    .from(refunds)
    .where(
      and(
        eq(refunds.status, 'SUCCEEDED'),
        gt(refunds.settledAt, since),
        lt(refunds.settledAt, cutoff),
        unsent('refunded', sql`${refunds.orderId}`, sql`${refunds.id}`),
      ),
    )
    .limit(limit);
  const returned = await db
    .selectDistinct({ id: returns.orderId })
    .from(returns)
    .where(
      and(
        gt(returns.updatedAt, since),
        lt(returns.updatedAt, cutoff),
        or(
          ...RETURN_STATUSES.flatMap((status) =>
            owedReturnMessages(status).map(
              (kind) => sql`(${returns.status} = ${status} AND ${unsent(kind, sql`${returns.orderId}`, sql`${returns.id}`)})`,
            ),
          ),
        ),
      ),
    )
    .limit(limit);
  const ids = [...new Set([...refunded, ...returned].map((r) => r.id))];
  if (ids.length === 0) return [];
  return db
    .select()
    .from(orders)
    .where(and(inArray(orders.id, ids), quiet))
    .limit(limit);
}
