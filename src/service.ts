/**
 * Assembles a running service from a config: database, Redis, queues, relay, and the API and/or
 * workers the role asks for. main.ts runs it under signals; tests start it on their own Redis.
 */
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Carrier, PaymentGateway } from './domain/ports.ts';
import type { Db } from './db/client.ts';
import { closeDatabase, openDatabase } from './db/open.ts';
import { sweepIdempotencyKeys } from './db/idempotency.ts';
import { databaseIdentity } from './db/service-meta.ts';
import { PrefixClaim } from './queues/prefix-claim.ts';
import { RepeatedLog } from './lib/repeated-log.ts';
import { ServiceMetrics } from './metrics.ts';
import { startWorkers, type WorkerDeps, type Workers } from './processors/workers.ts';
import {
  createProducerConnection,
  createWorkerConnection,
  isSilentSocket,
  maxmemoryPolicy,
  safeUrl,
} from './queues/connection.ts';
import { closeQueues, createQueues, queueSettings, type Queues } from './queues/queues.ts';
import { OutboxRelay } from './relay.ts';
import type { QueueName } from './queues/routing.ts';
import { waitsOnFailedJob } from './queues/parked.ts';
import { Reconciler } from './processors/reconciler.ts';
import { credentialsMayTravelInPlainText, SmtpMailer } from './email/smtp-mailer.ts';
import { redisLease } from './queues/lease.ts';
import { SandboxCarrier } from './sandbox/carrier.ts';
import { sandboxLedgers } from './sandbox/ledger.ts';
import { SandboxNotifier } from './sandbox/notifier.ts';
import { SandboxPaymentGateway } from './sandbox/payment-gateway.ts';
import { createApp, createOpsApp } from './server.ts';
import { RedisClock } from './queues/redis-clock.ts';
import { redisLimits } from './api/rate-limits.ts';

export interface RunningService {
  db: Db;
  queues: Queues;
  relay: OutboxRelay;
  /** Present where workers run (ROLE=all|worker). */
  reconciler: Reconciler | undefined;
  metrics: ServiceMetrics;
  /** This database's claim on the queue prefix. */
  prefixClaim: PrefixClaim;
  /** The bound port when the API runs, else undefined. */
  port: number | undefined;
  /** The address the API or operations server is bound to, as the socket reports it. */
  host: string | undefined;
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
  /** The service's clock, Redis's by default (a test passes one it moves by hand). */
  now?: () => number;
}

/**
 * Where the database lives, as the prefix claim records it: a file by its absolute path (two
 * clones' `data/orders.db` are two places), a URL without its password.
 */
export function databaseLocation(config: Pick<Config, 'databaseUrl' | 'databasePath'>): string {
  if (config.databaseUrl) return safeUrl(config.databaseUrl);
  return config.databasePath === ':memory:' ? ':memory:' : resolve(config.databasePath);
}

/** How often the queue prefix's claim is renewed and, after Redis lost its data, made again. */
const PREFIX_CLAIM_EVERY_MS = 5_000;

export async function startService(
  config: Config,
  redisUrl: string,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const dbErrors = new RepeatedLog(logger.child({ component: 'database' }));
  const db = await openDatabase({
    url: config.databaseUrl,
    path: config.databasePath,
    poolSize: config.databasePoolSize,
    onIdleError: (err) =>
      dbErrors.report('idle', 'warn', { err }, 'a database connection broke while idle; the pool opens another'),
  });
  const producer = createProducerConnection(redisUrl, config.redisCommandTimeoutMs, config.redisSocketTimeoutMs);
  options.onRedisConnection?.(producer);
  // ioredis reconnects by itself; say so once, then with backoff, not ten times a second.
  const redisErrors = new RepeatedLog(logger.child({ component: 'redis' }));
  producer.on('error', (err) =>
    isSilentSocket(err)
      ? redisErrors.report(
          'producer-silent',
          'warn',
          { err, redis: safeUrl(redisUrl), silentMs: config.redisSocketTimeoutMs },
          'connection to Redis went silent; reconnecting',
        )
      : redisErrors.report('producer', 'warn', { err, redis: safeUrl(redisUrl) }, 'cannot reach Redis; retrying'),
  );
  producer.on('ready', () => redisErrors.recovered('producer', 'connected to Redis again'));

  const claim = new PrefixClaim(
    producer,
    config.queuePrefix,
    PrefixClaim.describe(await databaseIdentity(db), databaseLocation(config), { stuckAfterMs: config.stuckAfterMs }),
    logger.child({ component: 'prefix-claim' }),
  );
  try {
    await waitForReady(producer, config.redisCommandTimeoutMs);
    await claim.claimAtStart();
  } catch (error) {
    producer.disconnect();
    await closeDatabase(db);
    throw error;
  }

  // Every time this process compares with another's is read on Redis's clock.
  const clock = new RedisClock(producer, logger.child({ component: 'clock' }));
  await clock.sync();
  clock.start();
  // A test may give its own clock instead (a manual one, for what is about time).
  const now = options.now ?? clock.now;

  const queues = createQueues(producer, queueSettings(config));
  const relay = new OutboxRelay(db, queues, logger.child({ component: 'relay' }), {
    sweepMs: config.relaySweepMs,
    failingAfterMs: config.relayFailingReadyMs,
    now,
  });
  void warnOnEvictionPolicy(producer, logger);
  const metrics = new ServiceMetrics({ db, queues, prefixConflict: () => claim.conflict !== undefined, now });
  claim.start(PREFIX_CLAIM_EVERY_MS);

  let workers: Workers | undefined;
  let workerConnection: ReturnType<typeof createWorkerConnection> | undefined;
  if (config.role !== 'api') {
    workerConnection = createWorkerConnection(redisUrl, config.redisSocketTimeoutMs);
    options.onRedisConnection?.(workerConnection);
    // Each worker reports a Redis that is away, with backoff; a connection dropped because it
    // went silent (half-open) is said here, once for all of them.
    workerConnection.on('error', (err) => {
      if (!isSilentSocket(err)) return;
      redisErrors.report(
        'worker-silent',
        'warn',
        { err, redis: safeUrl(redisUrl), silentMs: config.redisSocketTimeoutMs },
        'worker connection to Redis went silent; reconnecting',
      );
    });
    workerConnection.on('ready', () => redisErrors.recovered('worker-silent', 'worker connection to Redis answers again'));
    workers = startServiceWorkers(config, { db, connection: workerConnection, relay, metrics, logger, now });
  }
  const health = {
    prefixConflict: () => claim.conflict !== undefined,
    relay,
    outboxLagLimitMs: config.outboxLagReadyMs,
    clock,
    ...(workerConnection ? { workerRedis: workerConnection } : {}),
  };

  let server: ServerType | undefined;
  let port: number | undefined;
  let host: string | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  if (config.role !== 'worker') {
    sweeper = sweepIdempotencyKeysEvery(db, config.idempotencyTtlMs, logger, now);
    const app = createApp({
      db,
      logger,
      adminToken: config.adminToken,
      webhookSecret: config.webhookSecret,
      webhookToleranceS: config.webhookToleranceS,
      idempotencyTtlMs: config.idempotencyTtlMs,
      onCommit: () => relay.kick(),
      now,
      ledgers: sandboxLedgers(db),
      redis: producer,
      queues,
      metrics,
      ...health,
      stuckAfterMs: config.stuckAfterMs,
      apiKeys: config.apiKeys,
      limits: redisLimits(
        producer,
        {
          prefix: config.queuePrefix,
          apiKeyRateLimit: config.apiKeyRateLimit,
          addressRateLimit: config.addressRateLimit,
          adminAuthFailureLimit: config.adminAuthFailureLimit,
        },
        logger.child({ component: 'rate-limits' }),
      ),
      trustProxy: config.trustProxy,
      corsOrigins: config.corsOrigins,
      maxOrderTotalCents: config.maxOrderTotalCents,
    });
    ({ server, port, host } = await listen(app.fetch, config.host, config.port, config, logger, 'PORT'));
  }
  let metricsPort: number | undefined;
  if (config.role === 'worker' && config.metricsPort !== undefined) {
    const ops = createOpsApp({ db, logger, redis: producer, metrics, ...health });
    ({
      server,
      port: metricsPort,
      host,
    } = await listen(ops.fetch, config.host, config.metricsPort, config, logger, 'METRICS_PORT'));
  }
  relay.start();

  // The reconciler runs where workers run: an API-only process stays a thin intake.
  let reconciler: Reconciler | undefined;
  if (config.role !== 'api') {
    reconciler = createReconciler(config, { db, queues, relay, logger, now });
    reconciler.start();
  }

  return {
    db,
    queues,
    relay,
    reconciler,
    metrics,
    prefixClaim: claim,
    port,
    host,
    metricsPort,
    async stop() {
      // Stop taking work first, then let what is running finish, then move what it wrote.
      await reconciler?.stop();
      claim.stop();
      clock.stop();
      clearInterval(sweeper);
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      if (workers) await drainWorkers(workers, config.shutdownGraceMs, logger);
      await relay.stop();
      await relay.flush().catch((err) => logger.warn({ err }, 'outbox not flushed; the next start will send it'));
      await closeQueues(queues);
      await Promise.allSettled([closeRedis(producer), workerConnection && closeRedis(workerConnection)]);
      await closeDatabase(db);
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
  /** The deployment's clock (Redis's); this host's by default. */
  now?: () => number;
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
    ...emailParts(config, parts.connection, logger),
    logger,
    onJobDone: () => relay.kick(),
    onJobFinished: parts.metrics.observeJob,
    onForeignJob: parts.metrics.observeForeignJob,
    prefix: config.queuePrefix,
    concurrency: config.queueConcurrency,
    ...(parts.now ? { now: parts.now } : {}),
    paymentTimeoutMs: config.paymentTimeoutMs,
    providerTimeoutMs: config.providerTimeoutMs,
    lockMs: config.jobLockMs,
    stalledIntervalMs: config.jobStalledIntervalMs,
    ...(options.queues ? { queues: options.queues } : {}),
  });
}

/** With SMTP_URL: the mailer for orders with an address, and the lease that keeps two runs apart. */
function emailParts(config: Config, connection: Redis, logger: Logger): Pick<WorkerDeps, 'mailer' | 'lease'> {
  if (!config.mail) return {};
  const { host, protocol } = new URL(config.mail.smtpUrl);
  // Where to, never with the credentials.
  logger.info({ smtp: `${protocol}//${host}`, from: config.mail.from }, 'customer messages with an address go out by email');
  if (credentialsMayTravelInPlainText(config.mail.smtpUrl)) {
    logger.warn(
      { smtp: `${protocol}//${host}` },
      'SMTP_URL sends a password to another host over smtp://: it travels in plain text unless the server offers STARTTLS; use smtps:// or a relay on this host',
    );
  }
  return {
    mailer: new SmtpMailer(config.mail, logger.child({ component: 'mailer' })),
    lease: redisLease(connection, config.queuePrefix, config.mailLeaseMs),
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
    intervalMs: config.reconcileIntervalMs,
    stuckAfterMs: config.stuckAfterMs,
    onRedrive: () => relay.kick(),
    isParked: (order) => waitsOnFailedJob(queues, order.orderId, order.events),
  });
}

/**
 * Serves `fetch` on HOST with bounds on slow clients: the headers must arrive within
 * HTTP_HEADERS_TIMEOUT_MS and the whole request within HTTP_REQUEST_TIMEOUT_MS, checked every
 * second (Node checks every 30 s by default, so a trickling body could hold a connection for long).
 */
function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
  limits: {
    httpHeadersTimeoutMs: number;
    httpRequestTimeoutMs: number;
    maxConnectionsPerAddress: number;
    trustProxy: boolean;
  },
  logger: Logger,
  variable: 'PORT' | 'METRICS_PORT',
) {
  return new Promise<{ server: ServerType; port: number; host: string }>((resolve, reject) => {
    const server = serve(
      {
        fetch,
        port,
        hostname,
        serverOptions: {
          headersTimeout: limits.httpHeadersTimeoutMs,
          requestTimeout: Math.max(limits.httpRequestTimeoutMs, limits.httpHeadersTimeoutMs),
          connectionsCheckingInterval: 1_000,
        },
      },
      (info) => resolve({ server, port: info.port, host: info.address }),
    );
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, variable, hostname, port)));
    // Behind a proxy every connection comes from the proxy's address: no cap there.
    if (limits.maxConnectionsPerAddress > 0 && !limits.trustProxy) {
      capConnectionsPerAddress(server, limits.maxConnectionsPerAddress, logger);
    }
  });
}

/**
 * Closes, at once and without reading it, a connection from an address that already holds `cap`
 * open connections: one client (idle keep-alive sockets, a slow-connection attack) cannot take
 * every socket and file descriptor the process has, whatever the request timeouts.
 */
function capConnectionsPerAddress(server: ServerType, cap: number, logger: Logger): void {
  const open = new Map<string, number>();
  const refusals = new RepeatedLog(logger.child({ component: 'http' }));
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= cap) {
      refusals.report(
        address,
        'warn',
        { address, open: count, cap },
        'connection refused: this client address already holds MAX_CONNECTIONS_PER_ADDRESS connections',
      );
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/** A port the service cannot listen on: the operator's to fix, said in one line naming the variable. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

function listenError(error: NodeJS.ErrnoException, variable: string, host: string, port: number): Error {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return new ListenError(
      `${variable}=${port}: ${where} is already in use by another process; stop it, or set ${variable} to a free port`,
    );
  }
  if (error.code === 'EACCES') {
    return new ListenError(
      `${variable}=${port}: not allowed to listen on ${where} (ports below 1024 need privileges); set ${variable} to another port`,
    );
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new ListenError(
      `HOST=${host}: no interface of this machine has that address; set HOST to one of its addresses, or 0.0.0.0`,
    );
  }
  return error;
}

/**
 * Lets active jobs finish for up to `graceMs`. A job still running after that is left to its lock:
 * once the lock expires, BullMQ hands it to another worker, whose state check makes the rerun safe.
 * The log says which of those happened.
 */
async function drainWorkers(workers: Workers, graceMs: number, logger: Logger): Promise<void> {
  const running = workers.active();
  logger.info(
    { graceMs, activeJobs: running },
    running > 0 ? 'stopping workers: no new jobs, waiting for active ones' : 'stopping workers: no job running',
  );
  let timer: NodeJS.Timeout | undefined;
  const closed = workers.close().then(() => true);
  // Wait the grace period while jobs run; with none running, a close that does not come quickly
  // waits on an unreachable Redis, and waiting longer would change nothing.
  const started = Date.now();
  const timedOut = new Promise<boolean>((resolve) => {
    const tick = () => {
      const waited = Date.now() - started;
      if (waited >= graceMs || (workers.active() === 0 && waited >= IDLE_CLOSE_WAIT_MS)) resolve(false);
      else timer = setTimeout(tick, 100);
    };
    timer = setTimeout(tick, 100);
  });
  const drained = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  const left = workers.active();
  if (drained) logger.info({ finished: running }, running > 0 ? 'workers stopped; active jobs finished' : 'workers stopped');
  else if (left > 0) {
    logger.warn(
      { graceMs, activeJobs: left },
      'active jobs did not finish in the grace period; another worker will run them once their lock expires',
    );
  } else {
    logger.warn(
      { graceMs },
      'workers stopped without a job running, but could not close their Redis connections in the grace period (Redis unreachable?)',
    );
  }
}

/** How long stopping workers with no job running waits for their connections to close. */
const IDLE_CLOSE_WAIT_MS = 1_000;

/** Closes a connection politely when Redis answers, at once when it does not. */
async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.quit().catch(() => redis.disconnect()),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        redis.disconnect();
        resolve();
      }, 1_000);
    }),
  ]);
  clearTimeout(timer);
}

/** Waits until `redis` is connected, for up to `timeoutMs`; an unreachable Redis is not an error here. */
async function waitForReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    }
  });
}

/** Deletes expired idempotency keys periodically; an expired key is free for a new request. */
function sweepIdempotencyKeysEvery(db: Db, ttlMs: number, logger: Logger, now: () => number = Date.now): NodeJS.Timeout {
  const everyMs = Math.min(Math.max(ttlMs, IDEMPOTENCY_SWEEP_MIN_MS), IDEMPOTENCY_SWEEP_MAX_MS);
  const timer = setInterval(() => {
    sweepIdempotencyKeys(db, now()).then(
      (swept) => {
        if (swept > 0) logger.debug({ swept }, 'expired idempotency keys deleted');
      },
      (err) => logger.warn({ err }, 'could not sweep expired idempotency keys; will try again'),
    );
  }, everyMs);
  timer.unref();
  return timer;
}

async function warnOnEvictionPolicy(connection: ReturnType<typeof createProducerConnection>, logger: Logger) {
  try {
    await new Promise<void>((resolve) => (connection.status === 'ready' ? resolve() : connection.once('ready', () => resolve())));
    const policy = await maxmemoryPolicy(connection);
    if (policy && policy !== 'noeviction') {
      logger.warn({ policy }, `Redis maxmemory-policy is ${policy}: evicted job keys are lost jobs; set it to noeviction`);
    }
  } catch (err) {
    logger.debug({ err }, 'could not read Redis maxmemory-policy');
  }
}
