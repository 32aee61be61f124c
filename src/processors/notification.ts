/**
 * The notification service: tells the customer about an event, once per (order, kind), and only
 * when where the order stands calls for that message (a job added by hand, or one left from an
 * earlier state, sends nothing). A step (step.ts).
 *
 * An order with an email address, in a service with a Mailer (SMTP_URL), is told by email; every
 * other order by the sandbox notifier. Either way the sandbox's ledger records the message (its
 * channel says `smtp` or `email`): it stays the one record of what was sent.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { messageFacts, planNotification, recordNotification, recordNotificationRefused } from '../db/notifications.ts';
import { writeTx, type Db, type Tx } from '../db/client.ts';
import type { JobPayload, NotificationKind, OutboxEvent } from '../domain/events.ts';
import { NOTIFICATION_FOR_EVENT, owedNotifications } from '../domain/order-machine.ts';
import type { MailOutcome, MessageFacts } from '../domain/ports.ts';
import type { Handler, Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';
import { skip, step, StepBusy, type Provider, type StepRunner } from './step.ts';

const BUSY_RETRY_MS = 1_000;

export interface NotifyInput {
  orderId: string;
  kind: NotificationKind;
  /** A Mailer is configured: an order with an email address is told by email. */
  emails: boolean;
}

type NotifyPlan =
  | { channel: 'email'; orderId: string; kind: NotificationKind; recipient: string }
  | { channel: 'smtp'; orderId: string; kind: NotificationKind; to: string; facts: MessageFacts };

/** Only looks: the record is keyed by (order, kind), so a message recorded meanwhile is recorded once. */
async function look(db: Db, { orderId, kind, emails }: NotifyInput) {
  const order = await planNotification(db, orderId, kind);
  if (!order) return skip(`${kind} already sent`);
  if (!owedNotifications(order).includes(kind))
    return skip(`${kind} not owed: order is ${order.status}, payment ${order.paymentStatus}`);
  if (order.email && emails) {
    const facts = await messageFacts(db, order);
    return { channel: 'smtp', orderId, kind, to: order.email, facts } satisfies NotifyPlan;
  }
  return { channel: 'email', orderId, kind, recipient: order.customerId } satisfies NotifyPlan;
}

/**
 * By email: the lease keeps a concurrent run of the same (order, kind) from sending too, and a run
 * that was paused past its lease from finishing its send (it is asked right before the end of
 * DATA); a worker that dies between the server's 250 and the record leaves the message to be sent
 * again on retry, under the same Message-ID. The notifier's ledger then hears of it, under the key
 * that makes a resend after a crash (sent, not yet recorded) a no-op there.
 */
async function call(plan: NotifyPlan, { notifier, mailer, lease }: Provider): Promise<MailOutcome | { outcome: 'notified' }> {
  const { orderId, kind } = plan;
  const idempotencyKey = `${orderId}-${kind}`;
  if (plan.channel === 'email') {
    await notifier.send({ idempotencyKey, orderId, kind, channel: 'email', recipient: plan.recipient });
    return { outcome: 'notified' };
  }
  if (!mailer) throw new UnrecoverableError('an email was planned in a service without a Mailer');
  const { to, facts } = plan;
  const outcome = await mailer.send({ to, kind, facts, ...(lease ? { stillEntitled: () => lease.held() } : {}) });
  if (outcome.outcome === 'sent') await notifier.send({ idempotencyKey, orderId, kind, channel: 'smtp', recipient: to });
  return outcome;
}

export const notifyStep = step({
  id: 'notify',
  look,
  lock: (plan) => (plan.channel === 'smtp' ? `notification-${plan.orderId}-${plan.kind}` : undefined),
  call,
  // A sent message is one statement; a refusal also goes on the timeline, in a transaction.
  recordOne: (handle, { orderId, kind }, outcome, now) =>
    outcome.outcome === 'refused'
      ? writeTx(handle, (tx: Tx) => recordNotificationRefused(tx, orderId, kind, outcome, now))
      : recordNotification(handle, orderId, kind, now),
  done: (_result, outcome, { kind }) => {
    if (outcome.outcome === 'refused') return `${kind} refused by the mail server (${outcome.code})`;
    return outcome.outcome === 'sent' ? `${kind} emailed` : `${kind} sent`;
  },
});

/** Each event the notification queue hears sends the message the lifecycle table gives it. */
export function notificationHandlers(deps: { steps: StepRunner }): Handlers<'notification'> {
  const send: Handler = (job, token) => notify(deps.steps, job, token);
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

async function notify(steps: StepRunner, job: Job<JobPayload>, token: string | undefined): Promise<string> {
  const kind = NOTIFICATION_FOR_EVENT[job.name as OutboxEvent];
  if (!kind) throw new UnrecoverableError(`${job.name} sends no message`);
  try {
    return await steps.run(notifyStep, { orderId: parsePayload(job).orderId, kind, emails: steps.emails });
  } catch (error) {
    if (!(error instanceof StepBusy)) throw error;
    // Another run is emailing this message right now: look again shortly, without using an attempt.
    await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
    throw new DelayedError();
  }
}
