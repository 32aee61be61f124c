/**
 * Assembles a running service from a config: database, Redis, queues, relay, and the API and/or
 * workers the role asks for. main.ts runs it under signals; tests start it on their own Redis.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Carrier, PaymentGateway } from './domain/ports.ts';
import { closeDatabase, openDatabase, type Db } from './db/client.ts';
import { sweepIdempotencyKeys } from './db/idempotency.ts';
import { ServiceMetrics } from './metrics.ts';
import { startWorkers, type Workers } from './processors/workers.ts';
import { createProducerConnection, createWorkerConnection, maxmemoryPolicy } from './queues/connection.ts';
import { closeQueues, createQueues, queueSettings, type Queues } from './queues/queues.ts';
import { OutboxRelay } from './queues/relay.ts';
import type { QueueName } from './queues/routing.ts';
import { waitsOnFailedJob } from './queues/parked.ts';
import { Reconciler } from './processors/reconciler.ts';
import { SandboxCarrier } from './sandbox/carrier.ts';
import { SandboxNotifier } from './sandbox/notifier.ts';
import { SandboxPaymentGateway } from './sandbox/payment-gateway.ts';
import { createApp, createOpsApp } from './server.ts';

export interface RunningService {
  db: Db;
  queues: Queues;
  relay: OutboxRelay;
  /** Present where workers run (ROLE=all|worker). */
  reconciler: Reconciler | undefined;
  metrics: ServiceMetrics;
  /** The bound port when the API runs, else undefined. */
  port: number | undefined;
  /** The bound operations port of a ROLE=worker process with METRICS_PORT set. */
  metricsPort: number | undefined;
  stop(): Promise<void>;
}

/** How much later than the payment timeout `tok_slow` answers. */
const SLOW_ANSWER_MARGIN_MS = 500;

/** Expired idempotency keys are deleted this often (or once per TTL, when that is shorter). */
const IDEMPOTENCY_SWEEP_MAX_MS = 15 * 60 * 1000;
const IDEMPOTENCY_SWEEP_MIN_MS = 1_000;

export interface ServiceOptions {
  /** Told of each Redis connection the service makes (to follow a managed Redis that moves). */
  onRedisConnection?: (connection: Redis) => void;
}

export async function startService(config: Config, redisUrl: string, logger: Logger, options: ServiceOptions = {}): Promise<RunningService> {
  const db = openDatabase(config.databasePath);
  const producer = createProducerConnection(redisUrl);
  options.onRedisConnection?.(producer);
  producer.on('error', () => {}); // reported by the relay and /readyz; ioredis reconnects itself
  const queues = createQueues(producer, queueSettings(config));
  const relay = new OutboxRelay(db, queues, logger.child({ component: 'relay' }), { sweepMs: config.relaySweepMs });
  void warnOnEvictionPolicy(producer, logger);
  const metrics = new ServiceMetrics({ db, queues });

  let workers: Workers | undefined;
  let workerConnection: ReturnType<typeof createWorkerConnection> | undefined;
  if (config.role !== 'api') {
    workerConnection = createWorkerConnection(redisUrl);
    options.onRedisConnection?.(workerConnection);
    workerConnection.on('error', () => {});
    workers = startServiceWorkers(config, { db, connection: workerConnection, relay, metrics, logger });
  }

  let server: ServerType | undefined;
  let port: number | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  if (config.role !== 'worker') {
    sweeper = sweepIdempotencyKeysEvery(db, config.idempotencyTtlMs, logger);
    const app = createApp({
      db,
      logger,
      adminToken: config.adminToken,
      webhookSecret: config.webhookSecret,
      idempotencyTtlMs: config.idempotencyTtlMs,
      onCommit: () => relay.kick(),
      redis: producer,
      queues,
      metrics,
    });
    ({ server, port } = await listen(app.fetch, config.port));
  }
  let metricsPort: number | undefined;
  if (config.role === 'worker' && config.metricsPort !== undefined) {
    const ops = createOpsApp({ db, logger, redis: producer, metrics });
    ({ server, port: metricsPort } = await listen(ops.fetch, config.metricsPort));
  }
  relay.start();

  // The reconciler runs where workers run: an API-only process stays a thin intake.
  let reconciler: Reconciler | undefined;
  if (config.role !== 'api') {
    reconciler = createReconciler(config, { db, queues, relay, logger });
    reconciler.start();
  }

  return {
    db,
    queues,
    relay,
    reconciler,
    metrics,
    port,
    metricsPort,
    async stop() {
      // Stop taking work first, then let what is running finish, then move what it wrote.
      await reconciler?.stop();
      clearInterval(sweeper);
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      if (workers) await drainWorkers(workers, config.shutdownGraceMs, logger);
      await relay.stop();
      await relay.flush().catch((err) => logger.warn({ err }, 'outbox not flushed; the next start will send it'));
      await closeQueues(queues);
      await Promise.allSettled([producer.quit(), workerConnection?.quit()]);
      closeDatabase(db);
    },
  };
}

export interface WorkerParts {
  db: Db;
  /** A connection for blocking commands (createWorkerConnection). */
  connection: Redis;
  relay: OutboxRelay;
  metrics: ServiceMetrics;
  logger: Logger;
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
  return startWorkers({
    db,
    connection: parts.connection,
    gateway:
      options.gateway ??
      new SandboxPaymentGateway(db, {
        latencyMs: config.paymentLatencyMs,
        slowAnswerMs: config.paymentTimeoutMs + SLOW_ANSWER_MARGIN_MS,
      }),
    carrier: options.carrier ?? new SandboxCarrier(db),
    notifier: new SandboxNotifier(db, logger.child({ component: 'notifier' })),
    logger,
    onJobDone: () => relay.kick(),
    onJobFinished: parts.metrics.observeJob,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    paymentTimeoutMs: config.paymentTimeoutMs,
    lockMs: config.jobLockMs,
    ...(options.queues ? { queues: options.queues } : {}),
  });
}

/** The reconciler as the service runs it: orders parked on a failed job are left to an operator. */
export function createReconciler(
  config: Config,
  parts: { db: Db; queues: Queues; relay: OutboxRelay; logger: Logger },
): Reconciler {
  const { queues, relay } = parts;
  return new Reconciler(parts.db, parts.logger.child({ component: 'reconciler' }), {
    intervalMs: config.reconcileIntervalMs,
    stuckAfterMs: config.stuckAfterMs,
    onRedrive: () => relay.kick(),
    isParked: (order) => waitsOnFailedJob(queues, order.orderId, order.events),
  });
}

function listen(fetch: (request: Request) => Response | Promise<Response>, port: number) {
  return new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const server = serve({ fetch, port, hostname: '0.0.0.0' }, (info) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}

/**
 * Lets active jobs finish for up to `graceMs`. A job still running after that is left to its lock:
 * once the lock expires, BullMQ hands it to another worker, whose state check makes the rerun safe.
 */
async function drainWorkers(workers: Workers, graceMs: number, logger: Logger): Promise<void> {
  logger.info({ graceMs }, 'stopping workers: no new jobs, waiting for active ones');
  let timer: NodeJS.Timeout | undefined;
  const closed = workers.close().then(() => true);
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const drained = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (!drained) logger.warn({ graceMs }, 'active jobs did not finish in the grace period; another worker will retry them');
}

/** Deletes expired idempotency keys periodically; an expired key is free for a new request. */
function sweepIdempotencyKeysEvery(db: Db, ttlMs: number, logger: Logger): NodeJS.Timeout {
  const everyMs = Math.min(Math.max(ttlMs, IDEMPOTENCY_SWEEP_MIN_MS), IDEMPOTENCY_SWEEP_MAX_MS);
  const timer = setInterval(() => {
    try {
      const swept = sweepIdempotencyKeys(db, Date.now());
      if (swept > 0) logger.debug({ swept }, 'expired idempotency keys deleted');
    } catch (err) {
      logger.warn({ err }, 'could not sweep expired idempotency keys; will try again');
    }
  }, everyMs);
  timer.unref();
  return timer;
}

async function warnOnEvictionPolicy(connection: ReturnType<typeof createProducerConnection>, logger: Logger) {
  try {
    await new Promise<void>((resolve) =>
      connection.status === 'ready' ? resolve() : connection.once('ready', () => resolve()),
    );
    const policy = await maxmemoryPolicy(connection);
    if (policy && policy !== 'noeviction') {
      logger.warn(
        { policy },
        `Redis maxmemory-policy is ${policy}: evicted job keys are lost jobs; set it to noeviction`,
      );
    }
  } catch (err) {
    logger.debug({ err }, 'could not read Redis maxmemory-policy');
  }
}
