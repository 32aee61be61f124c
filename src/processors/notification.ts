/**
 * The notification service: tells the customer about an event, once per (order, kind) or, for a
 * refund or a return, once per (that refund or return, kind), and only
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
import { findOrder } from '../db/orders.ts';
import { unsentSubjects } from '../db/subject-messages.ts';
import { isSubjectKind, type JobPayload, type NotificationKind, type OutboxEvent } from '../domain/events.ts';
import { NOTIFICATION_FOR_EVENT, owedNotifications } from '../domain/order-machine.ts';
import type { MailOutcome, MessageFacts, MessageSubject } from '../domain/ports.ts';
import type { Handler, Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';
import { skip, step, StepBusy, type Provider, type Skip, type StepRunner } from './step.ts';

const BUSY_RETRY_MS = 1_000;

export interface NotifyInput {
  orderId: string;
  kind: NotificationKind;
  /** A Mailer is configured: an order with an email address is told by email. */
  emails: boolean;
}

/** `subject`: the refund or return a message is about (events.ts SUBJECT_NOTIFICATION_KINDS). */
type NotifyPlan =
  | { channel: 'email'; orderId: string; kind: NotificationKind; recipient: string; subject?: MessageSubject }
  | { channel: 'smtp'; orderId: string; kind: NotificationKind; to: string; facts: MessageFacts; subject?: MessageSubject };

/** What a job about refunds or returns answers once none of them is owed its message any more. */
const noneOwed = (kind: NotificationKind) => `${kind} owed to no refund or return`;

/**
 * Only looks: the record is keyed by (order, kind), or (order, kind, subject), so a message
 * recorded meanwhile is recorded once.
 */
async function look(db: Db, { orderId, kind, emails }: NotifyInput): Promise<NotifyPlan | Skip> {
  if (isSubjectKind(kind)) return lookAboutSubject(db, orderId, kind, emails);
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

/** The oldest refund or return of the order owed a message of `kind` it has not had. */
async function lookAboutSubject(
  db: Db,
  orderId: string,
  kind: Parameters<typeof unsentSubjects>[2],
  emails: boolean,
): Promise<NotifyPlan | Skip> {
  const order = await findOrder(db, orderId);
  const [subject] = order ? await unsentSubjects(db, orderId, kind) : [];
  if (!order || !subject) return skip(noneOwed(kind));
  if (order.email && emails) {
    const facts = { ...(await messageFacts(db, order)), subject };
    return { channel: 'smtp', orderId, kind, to: order.email, facts, subject } satisfies NotifyPlan;
  }
  return { channel: 'email', orderId, kind, recipient: order.customerId, subject } satisfies NotifyPlan;
}

/** One message, one key: (order, kind), or (refund or return, kind) for a message about one. */
function messageKey(plan: NotifyPlan): string {
  return plan.subject ? `${plan.subject.id}-${plan.kind}` : `${plan.orderId}-${plan.kind}`;
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
  const idempotencyKey = messageKey(plan);
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
  lock: (plan) => (plan.channel === 'smtp' ? `notification-${messageKey(plan)}` : undefined),
  call,
  // A sent message is one statement; a refusal also goes on the timeline, in a transaction.
  recordOne: (handle, { orderId, kind, subject }, outcome, now) =>
    outcome.outcome === 'refused'
      ? writeTx(handle, (tx: Tx) => recordNotificationRefused(tx, orderId, kind, outcome, now, subject?.id))
      : recordNotification(handle, orderId, kind, now, subject?.id),
  done: (_result, outcome, { kind, subject }) => {
    const about = subject ? ` for ${subject.id}` : '';
    if (outcome.outcome === 'refused') return `${kind}${about} refused by the mail server (${outcome.code})`;
    return outcome.outcome === 'sent' ? `${kind}${about} emailed` : `${kind}${about} sent`;
  },
});

/** The most messages one job sends about an order's refunds or returns: more wait for the next job. */
const MAX_SUBJECTS_PER_JOB = 50;

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
    ReturnRequested: send,
    ReturnReceived: send,
    ReturnRejected: send,
    ReturnCancelled: send,
  };
}

async function notify(steps: StepRunner, job: Job<JobPayload>, token: string | undefined): Promise<string> {
  const kind = NOTIFICATION_FOR_EVENT[job.name as OutboxEvent];
  if (!kind) throw new UnrecoverableError(`${job.name} sends no message`);
  const input = { orderId: parsePayload(job).orderId, kind, emails: steps.emails };
  try {
    if (!isSubjectKind(kind)) return await steps.run(notifyStep, input);
    // One message per refund or return that is owed it, each its own step, until none is.
    const said: string[] = [];
    for (let i = 0; i < MAX_SUBJECTS_PER_JOB; i++) {
      const result = await steps.run(notifyStep, input);
      if (result === noneOwed(kind)) break;
      said.push(result);
    }
    return said.length > 0 ? said.join('; ') : noneOwed(kind);
  } catch (error) {
    if (!(error instanceof StepBusy)) throw error;
    // Another run is emailing this message right now: look again shortly, without using an attempt.
    await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, token);
    throw new DelayedError();
  }
}
