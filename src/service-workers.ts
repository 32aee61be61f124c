/**
 * The workers and the reconciler as the service runs them, from a config: the sandbox providers,
 * the mailer when SMTP_URL is set, and the options of DESIGN.md's variables. The service starts
 * them where ROLE says; a test starts more, or one pass, with its own providers.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import type { Carrier, PaymentGateway } from './domain/ports.ts';
import { credentialsMayTravelInPlainText, SmtpMailer } from './email/smtp-mailer.ts';
import type { ServiceMetrics } from './metrics.ts';
import { Reconciler } from './processors/reconciler.ts';
import { startWorkers, type WorkerDeps, type Workers } from './processors/workers.ts';
import { redisLease } from './queues/lease.ts';
import { waitsOnFailedJob } from './queues/parked.ts';
import type { Queues } from './queues/queues.ts';
import type { QueueName } from './queues/routing.ts';
import type { OutboxRelay } from './relay.ts';
import { SandboxCarrier } from './sandbox/carrier.ts';
import { SandboxNotifier } from './sandbox/notifier.ts';
import { SandboxPaymentGateway } from './sandbox/payment-gateway.ts';
import { createDeliveryQueue, type DeliveryQueue } from './queues/webhook-deliveries.ts';
import { startDeliveryWorker } from './webhooks/delivery-worker.ts';
import { drainWithin } from './processors/drain.ts';

/** How much later than the payment timeout `tok_slow` answers. */
const SLOW_ANSWER_MARGIN_MS = 500;

export interface WorkerParts {
  db: Db;
  /** A connection for blocking commands (createWorkerConnection). */
  connection: Redis;
  relay: OutboxRelay;
  metrics: ServiceMetrics;
  logger: Logger;
  /** The deployment's clock (Redis's); this host's by default. */
  now?: () => number;
  /** Where the webhook fan-out queues delivery attempts; one on `connection` by default. */
  webhookDeliveries?: DeliveryQueue;
}

/**
 * The workers of this service, with the sandbox providers, for the services `queues` names (all
 * by default); a test may swap a provider for one that fails on purpose.
 */
export function startServiceWorkers(
  config: Config,
  parts: WorkerParts,
  options: { queues?: readonly QueueName[]; gateway?: PaymentGateway; carrier?: Carrier } = {},
): Workers {
  const { db, relay, logger } = parts;
  const ownQueue = parts.webhookDeliveries ? undefined : createDeliveryQueue(parts.connection, config.jobs.queuePrefix);
  const webhookDeliveries = parts.webhookDeliveries ?? ownQueue!;
  const services = startWorkers({
    db,
    connection: parts.connection,
    webhookDeliveries,
    gateway:
      options.gateway ??
      new SandboxPaymentGateway(db, {
        latencyMs: config.jobs.paymentLatencyMs,
        slowAnswerMs: config.jobs.paymentTimeoutMs + SLOW_ANSWER_MARGIN_MS,
      }),
    carrier: options.carrier ?? new SandboxCarrier(db),
    notifier: new SandboxNotifier(db, logger.child({ component: 'notifier' })),
    ...emailParts(config, parts.connection, logger),
    logger,
    onJobDone: () => relay.kick(),
    onJobFinished: parts.metrics.observeJob,
    onForeignJob: parts.metrics.observeForeignJob,
    prefix: config.jobs.queuePrefix,
    concurrency: config.jobs.queueConcurrency,
    ...(parts.now ? { now: parts.now } : {}),
    paymentTimeoutMs: config.jobs.paymentTimeoutMs,
    providerTimeoutMs: config.jobs.providerTimeoutMs,
    lockMs: config.jobs.jobLockMs,
    stalledIntervalMs: config.jobs.jobStalledIntervalMs,
    ...(options.queues ? { queues: options.queues } : {}),
  });
  // Delivery attempts run where the webhook fan-out runs, on their own worker.
  if (options.queues && !options.queues.includes('webhook')) return services;
  const w = config.webhooks;
  const deliveries = startDeliveryWorker({
    db,
    connection: parts.connection,
    prefix: config.jobs.queuePrefix,
    logger,
    concurrency: w.concurrency,
    perEndpoint: w.perEndpoint,
    timeoutMs: w.timeoutMs,
    allowPrivate: w.allowPrivateTargets,
    schedule: w.schedule,
    disableAfterMs: w.disableAfterMs,
    lockMs: config.jobs.jobLockMs,
    stalledIntervalMs: config.jobs.jobStalledIntervalMs,
    now: parts.now ?? Date.now,
    onOutcome: parts.metrics.observeWebhook,
  });
  // One drain for both: with Redis away, a BullMQ worker's close never ends, and the grace period
  // (or, with nothing running, a moment) bounds the wait for every worker of the process alike.
  const closeAll = async () => {
    await Promise.allSettled([services.close(), deliveries.close()]);
    await ownQueue?.close().catch(() => {});
  };
  const active = () => services.active() + deliveries.active();
  return {
    active,
    async close(graceMs?: number) {
      if (graceMs === undefined) await closeAll();
      else await drainWithin(graceMs, { active, close: closeAll }, logger);
    },
  };
}

/** With SMTP_URL: the mailer for orders with an address, and the lease that keeps two runs apart. */
function emailParts(config: Config, connection: Redis, logger: Logger): Pick<WorkerDeps, 'mailer' | 'lease'> {
  if (!config.mail.smtp) return {};
  const { host, protocol } = new URL(config.mail.smtp.smtpUrl);
  // Where to, never with the credentials.
  logger.info({ smtp: `${protocol}//${host}`, from: config.mail.smtp.from }, 'customer messages with an address go out by email');
  if (credentialsMayTravelInPlainText(config.mail.smtp.smtpUrl)) {
    logger.warn(
      { smtp: `${protocol}//${host}` },
      'SMTP_URL sends a password to another host over smtp://: it travels in plain text unless the server offers STARTTLS; use smtps:// or a relay on this host',
    );
  }
  return {
    mailer: new SmtpMailer(config.mail.smtp, logger.child({ component: 'mailer' })),
    lease: redisLease(connection, config.jobs.queuePrefix, config.mail.mailLeaseMs),
  };
}

/** The reconciler as the service runs it: orders parked on a failed job are left to an operator. */
export function createReconciler(
  config: Config,
  parts: { db: Db; queues: Queues; relay: OutboxRelay; logger: Logger; now?: () => number },
): Reconciler {
  const { queues, relay } = parts;
  return new Reconciler(parts.db, parts.logger.child({ component: 'reconciler' }), {
    ...(parts.now ? { now: parts.now } : {}),
    intervalMs: config.jobs.reconcileIntervalMs,
    stuckAfterMs: config.jobs.stuckAfterMs,
    onRedrive: () => relay.kick(),
    isParked: (order) => waitsOnFailedJob(queues, order.orderId, order.events),
  });
}
