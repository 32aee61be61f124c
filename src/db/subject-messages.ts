/**
 * The messages about one refund or one return of an order that its customer is owed and has not
 * had: a refund that settled owes `refunded`; a return owes the message of each step it has been
 * through (domain/return-machine.ts `owedReturnMessages`). The notification service sends each
 * once per (refund or return, kind); the reconciler asks the same question of an order at rest.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { NotificationKind, SubjectNotificationKind } from '../domain/events.ts';
import type { MessageSubject } from '../domain/ports.ts';
import { owedReturnMessages, RETURN_STATUSES } from '../domain/return-machine.ts';
import type { Db, Tx } from './client.ts';

/** Each refund or return of the order owed a message of `kind` it has not had, oldest first. */
export async function unsentSubjects(db: Db | Tx, orderId: string, kind: SubjectNotificationKind): Promise<MessageSubject[]> {
  const { refunds, returns, returnItems, sentNotifications } = db.tables;
  const sent = new Set(
    (
      await db
        .select({ subject: sentNotifications.subject })
        .from(sentNotifications)
        .where(and(eq(sentNotifications.orderId, orderId), eq(sentNotifications.kind, kind)))
    ).map((r) => r.subject),
  );
  if (kind === 'refunded') {
    const settled = await db
      .select()
      .from(refunds)
      .where(and(eq(refunds.orderId, orderId), eq(refunds.status, 'SUCCEEDED')))
      .orderBy(refunds.createdAt, refunds.id);
    return settled.filter((r) => !sent.has(r.id)).map((r) => ({ id: r.id, amountCents: r.amountCents, reason: r.reason }));
  }
  const statuses = RETURN_STATUSES.filter((s) => owedReturnMessages(s).includes(kind));
  const owing = (
    await db
      .select()
      .from(returns)
      .where(and(eq(returns.orderId, orderId), inArray(returns.status, statuses)))
      .orderBy(returns.createdAt, returns.id)
  ).filter((r) => !sent.has(r.id));
  if (owing.length === 0) return [];
  const items = await db
    .select()
    .from(returnItems)
    .where(
      inArray(
        returnItems.returnId,
        owing.map((r) => r.id),
      ),
    );
  return owing.map((r) => {
    const lines = items.filter((i) => i.returnId === r.id);
    return {
      id: r.id,
      amountCents: lines.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0),
      items: lines.map((i) => ({ sku: i.sku, quantity: i.quantity })),
      reason: r.reason,
    };
  });
}

/** The message kinds about refunds and returns the order owes and has not sent. */
export async function unsentSubjectKinds(
  db: Db | Tx,
  orderId: string,
  kinds: readonly SubjectNotificationKind[],
): Promise<NotificationKind[]> {
  const owed: NotificationKind[] = [];
  for (const kind of kinds) if ((await unsentSubjects(db, orderId, kind)).length > 0) owed.push(kind);
  return owed;
}
