/**
 * The notification service: tells the customer about an event, once per (order, kind), and only
 * when where the order stands calls for that message (a job added by hand, or one left from an
 * earlier state, sends nothing).
 *
 * An order with an email address, in a service with a Mailer (SMTP_URL), is told by email; every
 * other order by the sandbox notifier. Either way the sandbox's ledger records the message (its
 * channel says `smtp` or `email`): it stays the one record of what was sent.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Db } from '../db/client.ts';
import { messageFacts, planNotification, recordNotification, recordNotificationRefused } from '../db/notifications.ts';
import type { OrderRow } from '../db/schema.ts';
import type { JobPayload, NotificationKind, OutboxEvent } from '../domain/events.ts';
import { NOTIFICATION_FOR_EVENT, owedNotifications } from '../domain/order-machine.ts';
import type { Mailer, Notifier } from '../domain/ports.ts';
import type { Lease } from '../queues/lease.ts';
import type { Handler, Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';

const BUSY = Symbol('another run holds the lease');
const BUSY_RETRY_MS = 1_000;

export interface NotificationDeps {
  db: Db;
  notifier: Notifier;
  /** Present when SMTP_URL is set. */
  mailer?: Mailer;
  /** Keeps two runs of one (order, kind) from emailing at the same moment. */
  lease?: Lease;
  now: () => number;
}

/** Each event the notification queue hears sends the message the lifecycle table gives it. */
export function notificationHandlers(deps: NotificationDeps): Handlers<'notification'> {
  const send: Handler = (job, token) => notify(deps, job, token);
  return {
    PaymentFailed: send,
    PaymentTimedOut: send,
    InventoryReserved: send,
    InventoryReservationFailed: send,
    ShipmentCreated: send,
    Delivered: send,
    Cancelled: send,
    RefundIssued: send,
  };
}

async function notify(deps: NotificationDeps, job: Job<JobPayload>, token: string | undefined): Promise<string> {
  const kind = NOTIFICATION_FOR_EVENT[job.name as OutboxEvent];
  if (!kind) throw new UnrecoverableError(`${job.name} sends no message`);
  const { orderId } = parsePayload(job);
  const order = await planNotification(deps.db, orderId, kind);
  if (!order) return `${kind} already sent`;
  if (!owedNotifications(order).includes(kind))
    return `${kind} not owed: order is ${order.status}, payment ${order.paymentStatus}`;
  if (order.email && deps.mailer) {
    const result = await email(deps, deps.mailer, order, order.email, kind);
    if (result !== BUSY) return result;
    // Another run is emailing this message right now: look again shortly, without using an attempt.
    await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
    throw new DelayedError();
  }
  // The key makes a resend after a crash (sent, not yet recorded) a no-op at the notifier.
  await deps.notifier.send({
    idempotencyKey: `${orderId}-${kind}`,
    orderId,
    kind,
    channel: 'email',
    recipient: order.customerId,
  });
  await recordNotification(deps.db, orderId, kind, deps.now());
  return `${kind} sent`;
}

/**
 * Emails one message. The lease keeps a concurrent run of the same (order, kind) from sending too,
 * and a run that was paused past its lease from finishing its send; a worker that dies between the
 * server's 250 and the record below leaves the message to be sent again on retry, under the same
 * Message-ID.
 */
async function email(
  deps: NotificationDeps,
  mailer: Mailer,
  order: OrderRow,
  to: string,
  kind: NotificationKind,
): Promise<string | typeof BUSY> {
  const lease = deps.lease ? await deps.lease(`notification-${order.id}-${kind}`) : undefined;
  if (deps.lease && !lease) return BUSY;
  try {
    // Checked again under the lease: the other run may have finished just before we took it.
    if (!(await planNotification(deps.db, order.id, kind))) return `${kind} already sent`;
    const facts = await messageFacts(deps.db, order);
    // Asked right before the message is committed at the server (the end of DATA): a run paused
    // past its lease gives up there, since another run may have sent the message meanwhile.
    const outcome = await mailer.send({ to, kind, facts, ...(lease ? { stillEntitled: () => lease.held() } : {}) });
    if (outcome.outcome === 'refused') {
      await recordNotificationRefused(deps.db, order.id, kind, outcome, deps.now());
      return `${kind} refused by the mail server (${outcome.code})`;
    }
    await deps.notifier.send({ idempotencyKey: `${order.id}-${kind}`, orderId: order.id, kind, channel: 'smtp', recipient: to });
    await recordNotification(deps.db, order.id, kind, deps.now());
    return `${kind} emailed`;
  } finally {
    // A lease not given back (Redis away) expires by itself.
    await lease?.release().catch(() => {});
  }
}
