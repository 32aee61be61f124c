/**
 * The notification service: tells the customer about an event, once per (order, kind), and only
 * when where the order stands calls for that message (a job added by hand, or one left from an
 * earlier state, sends nothing).
 */
import type { Db } from '../db/client.ts';
import { planNotification, recordNotification } from '../db/notifications.ts';
import { NOTIFICATION_FOR_EVENT, type OutboxEvent } from '../domain/events.ts';
import type { Notifier } from '../domain/ports.ts';
import { owedNotifications } from '../domain/redrive.ts';
import { parsePayload, unknownJob, type Processor } from './job.ts';

export function notificationProcessor(deps: { db: Db; notifier: Notifier; now: () => number }): Processor {
  return async (job) => {
    const kind = NOTIFICATION_FOR_EVENT[job.name as OutboxEvent];
    if (!kind) return unknownJob(job);
    const { orderId } = parsePayload(job);
    const order = planNotification(deps.db, orderId, kind);
    if (!order) return `${kind} already sent`;
    if (!owedNotifications(order).includes(kind)) return `${kind} not owed: order is ${order.status}, payment ${order.paymentStatus}`;
    // The key makes a resend after a crash (sent, not yet recorded) a no-op at the notifier.
    await deps.notifier.send({
      idempotencyKey: `${orderId}-${kind}`,
      orderId,
      kind,
      channel: 'email',
      recipient: order.customerId,
    });
    recordNotification(deps.db, orderId, kind, deps.now());
    return `${kind} sent`;
  };
}
