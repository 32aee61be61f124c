/**
 * The reconciler's look at messages about refunds and returns (db/subject-messages.ts): an order
 * whose refund settled, or whose return moved, within the look-back window without the message
 * that step owes (its job lost with Redis's data, say) is found here, and the event that sends it
 * is written again. Apart from reconcile.ts, which reads the order's own row.
 */
import { and, or, sql, type SQL } from 'drizzle-orm';
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
 * message the refund or return owes; `quiet` is the caller's "nothing on its way" condition.
 */
export async function subjectMessageCandidates(
  db: Db,
  cutoff: number,
  since: number,
  limit: number,
  quiet: SQL,
): Promise<OrderRow[]> {
  const { orders, refunds, returns, sentNotifications: sent } = db.tables;
  const unsent = (kind: string, subject: SQL) =>
    sql`NOT EXISTS (SELECT 1 FROM ${sent} WHERE ${sent.orderId} = ${orders.id} AND ${sent.kind} = ${kind} AND ${sent.subject} = ${subject})`;
  const refundOwed = sql`EXISTS (SELECT 1 FROM ${refunds} WHERE ${refunds.orderId} = ${orders.id}
    AND ${refunds.status} = 'SUCCEEDED' AND ${refunds.settledAt} > ${since} AND ${refunds.settledAt} < ${cutoff}
    AND ${unsent('refunded', sql`${refunds.id}`)})`;
  const returnOwed = or(
    ...RETURN_STATUSES.flatMap((status) =>
      owedReturnMessages(status).map(
        (kind) => sql`EXISTS (SELECT 1 FROM ${returns} WHERE ${returns.orderId} = ${orders.id}
          AND ${returns.status} = ${status} AND ${returns.updatedAt} > ${since} AND ${returns.updatedAt} < ${cutoff}
          AND ${unsent(kind, sql`${returns.id}`)})`,
      ),
    ),
  );
  return db
    .select()
    .from(orders)
    .where(and(or(refundOwed, returnOwed), quiet))
    .limit(limit);
}
