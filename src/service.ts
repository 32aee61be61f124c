/**
 * Assembles a running service from a config: database, Redis, queues, relay, and the API and/or
 * workers the role asks for, as an ordered list of components (components.ts). Each starts after
 * what it uses and stops before it; main.ts runs the service under signals, tests on their own Redis.
 */
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisLimits } from './api/rate-limits.ts';
import { component, startComponents, type Component } from './components.ts';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import { IdempotencySweeper } from './db/idempotency-sweeper.ts';
import { closeDatabase, openDatabase } from './db/open.ts';
import { databaseIdentity } from './db/service-meta.ts';
import { HttpServer } from './http-server.ts';
import { ServiceMetrics } from './metrics.ts';
import { PrefixClaim } from './queues/prefix-claim.ts';
import type { Reconciler } from './processors/reconciler.ts';
import type { Workers } from './processors/workers.ts';
import { safeUrl } from './queues/connection.ts';
import { closeQueues, createQueues, queueSettings, type Queues } from './queues/queues.ts';
import { RedisClock } from './queues/redis-clock.ts';
import { closeRedis, connectProducer, connectWorkers, waitForReady, warnOnEvictionPolicy } from './queues/redis-lifecycle.ts';
import { OutboxRelay } from './relay.ts';
import { RepeatedLog } from './lib/repeated-log.ts';
import { sandboxLedgers } from './sandbox/ledger.ts';
import { createApp, createOpsApp } from './server.ts';
import { createReconciler, startServiceWorkers } from './service-workers.ts';
import { setSubscriberCacheMs } from './db/webhook-subscribers.ts';
import { createDeliveryQueue, type DeliveryQueue } from './queues/webhook-deliveries.ts';
import { DeliveryRedrive } from './webhooks/redrive.ts';

export { ListenError } from './http-server.ts';

export interface RunningService {
  db: Db;
  queues: Queues;
  relay: OutboxRelay;
  /** Present where workers run (ROLE=all|worker). */
  reconciler: Reconciler | undefined;
  /** The queue of webhook delivery attempts, and the pass that queues again those whose job was lost. */
  webhookDeliveries: DeliveryQueue;
  webhookRedrive: DeliveryRedrive;
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
export function databaseLocation(store: Pick<Config['store'], 'databaseUrl' | 'databasePath'>): string {
  if (store.databaseUrl) return safeUrl(store.databaseUrl);
  return store.databasePath === ':memory:' ? ':memory:' : resolve(store.databasePath);
}

/** How often the queue prefix's claim is renewed and, after Redis lost its data, made again. */
const PREFIX_CLAIM_EVERY_MS = 5_000;

/**
 * Starts the components in order; if one fails (Redis's prefix taken, a port in use), the ones
 * already started are stopped in reverse and the error is rethrown: the process holds no database
 * connection, Redis connection or timer afterwards.
 */
export async function startService(
  config: Config,
  redisUrl: string,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const withApi = config.role !== 'worker';
  const withWorkers = config.role !== 'api';
  const redisErrors = new RepeatedLog(logger.child({ component: 'redis' }));
  const socketTimeoutMs = config.redis.redisSocketTimeoutMs;
  const listenOn = { hostname: config.http.host, limits: config.http };

  // Set by the components' starts, in the order of the list below.
  let db!: Db;
  let producer!: Redis;
  let workerConnection: Redis | undefined;
  let claim!: PrefixClaim;
  let clock!: RedisClock;
  let now!: () => number;
  let queues!: Queues;
  let webhookDeliveries!: DeliveryQueue;
  let webhookRedrive!: DeliveryRedrive;
  let metrics!: ServiceMetrics;
  let relay!: OutboxRelay;
  let workers: Workers | undefined;
  let reconciler: Reconciler | undefined;
  let http: HttpServer | undefined;
  const health = () => ({
    prefixConflict: () => claim.conflict !== undefined,
    relay,
    outboxLagLimitMs: config.outbox.outboxLagReadyMs,
    clock,
    ...(workerConnection ? { workerRedis: workerConnection } : {}),
  });

  const components: Component[] = [
    component('database', {
      start: async () => {
        const dbErrors = new RepeatedLog(logger.child({ component: 'database' }));
        db = await openDatabase({
          url: config.store.databaseUrl,
          path: config.store.databasePath,
          poolSize: config.store.databasePoolSize,
          onIdleError: (err) =>
            dbErrors.report('idle', 'warn', { err }, 'a database connection broke while idle; the pool opens another'),
        });
        setSubscriberCacheMs(db, config.webhooks.endpointCacheMs);
      },
      stop: () => closeDatabase(db),
    }),
    component('redis', {
      start: () => {
        producer = connectProducer(
          redisUrl,
          { commandTimeoutMs: config.redis.redisCommandTimeoutMs, socketTimeoutMs },
          redisErrors,
        );
        options.onRedisConnection?.(producer);
      },
      stop: () => closeRedis(producer),
    }),
    ...(withWorkers
      ? [
          component('worker redis', {
            start: () => {
              workerConnection = connectWorkers(redisUrl, socketTimeoutMs, redisErrors);
              options.onRedisConnection?.(workerConnection);
            },
            stop: () => closeRedis(workerConnection!),
          }),
        ]
      : []),
    component('prefix claim', {
      start: async () => {
        claim = new PrefixClaim(
          producer,
          config.jobs.queuePrefix,
          PrefixClaim.describe(await databaseIdentity(db), databaseLocation(config.store), {
            stuckAfterMs: config.jobs.stuckAfterMs,
          }),
          logger.child({ component: 'prefix-claim' }),
        );
        await waitForReady(producer, config.redis.redisCommandTimeoutMs);
        await claim.claimAtStart();
        claim.start(PREFIX_CLAIM_EVERY_MS);
      },
      stop: () => claim.stop(),
    }),
    component('clock', {
      // Every time this process compares with another's is read on Redis's clock; a test may give
      // its own instead (a manual one, for what is about time).
      start: async () => {
        clock = new RedisClock(producer, logger.child({ component: 'clock' }));
        await clock.sync();
        clock.start();
        now = options.now ?? clock.now;
      },
      stop: () => clock.stop(),
    }),
    component('queues', {
      start: () => {
        queues = createQueues(producer, queueSettings(config.jobs));
        webhookDeliveries = createDeliveryQueue(producer, config.jobs.queuePrefix);
        webhookRedrive = new DeliveryRedrive(db, webhookDeliveries, logger.child({ component: 'webhook-redrive' }), {
          intervalMs: config.jobs.reconcileIntervalMs,
          overdueAfterMs: config.jobs.stuckAfterMs,
          now,
        });
        void warnOnEvictionPolicy(producer, logger);
        metrics = new ServiceMetrics({ db, queues, prefixConflict: () => claim.conflict !== undefined, now });
      },
      stop: async () => {
        await closeQueues(queues);
        await webhookDeliveries.close().catch(() => {});
      },
    }),
    component('relay', {
      start: () => {
        relay = new OutboxRelay(db, queues, logger.child({ component: 'relay' }), {
          sweepMs: config.outbox.relaySweepMs,
          failingAfterMs: config.outbox.relayFailingReadyMs,
          now,
        });
        relay.start();
      },
      // After the workers drained: what their last jobs wrote is moved now, not at the next start.
      stop: async () => {
        await relay.stop();
        await relay.flush().catch((err) => logger.warn({ err }, 'outbox not flushed; the next start will send it'));
      },
    }),
    ...(withWorkers
      ? [
          component('workers', {
            start: () => {
              workers = startServiceWorkers(config, {
                db,
                connection: workerConnection!,
                relay,
                metrics,
                logger,
                now,
                webhookDeliveries,
              });
            },
            stop: () => workers!.close(config.jobs.shutdownGraceMs),
          }),
        ]
      : []),
    ...(withApi ? apiComponents() : opsComponents()),
    // The reconciler runs where workers run: an API-only process stays a thin intake.
    ...(withWorkers
      ? [
          component('reconciler', {
            start: () => {
              reconciler = createReconciler(config, { db, queues, relay, logger, now });
              reconciler.start();
            },
            stop: () => reconciler!.stop(),
          }),
          // Webhook deliveries whose job was lost (Redis wiped) are queued again from the database.
          component('webhook re-drive', {
            start: () => webhookRedrive.start(),
            stop: () => webhookRedrive.stop(),
          }),
        ]
      : []),
  ];

  /** The idempotency sweeper and the API's listener, stopped before the workers drain. */
  function apiComponents(): Component[] {
    let sweeper: IdempotencySweeper | undefined;
    return [
      component('idempotency sweeper', {
        start: () => {
          sweeper = new IdempotencySweeper(db, config.api.idempotencyTtlMs, logger, now);
          sweeper.start();
        },
        stop: () => sweeper?.stop(),
      }),
      component('http', {
        start: async () => {
          http = new HttpServer(createApp(appDeps()).fetch, { ...listenOn, port: config.http.port, variable: 'PORT' }, logger);
          await http.listen();
        },
        stop: () => http?.close(),
      }),
    ];
  }

  function appDeps(): Parameters<typeof createApp>[0] {
    return {
      db,
      logger,
      adminToken: config.api.adminToken,
      webhookSecret: config.api.webhookSecret,
      webhookToleranceS: config.api.webhookToleranceS,
      idempotencyTtlMs: config.api.idempotencyTtlMs,
      onCommit: () => relay.kick(),
      now,
      ledgers: sandboxLedgers(db),
      redis: producer,
      queues,
      metrics,
      ...health(),
      stuckAfterMs: config.jobs.stuckAfterMs,
      apiKeys: config.api.apiKeys,
      limits: redisLimits(
        producer,
        {
          prefix: config.jobs.queuePrefix,
          apiKeyRateLimit: config.api.apiKeyRateLimit,
          addressRateLimit: config.api.addressRateLimit,
          adminAuthFailureLimit: config.api.adminAuthFailureLimit,
        },
        logger.child({ component: 'rate-limits' }),
      ),
      trustProxy: config.http.trustProxy,
      corsOrigins: config.http.corsOrigins,
      maxOrderTotalCents: config.api.maxOrderTotalCents,
      webhooks: { allowPrivateTargets: config.webhooks.allowPrivateTargets, secretGraceMs: config.webhooks.secretGraceMs },
      returnWindowDays: config.api.returnWindowDays,
    };
  }

  /** A ROLE=worker process with METRICS_PORT serves /healthz, /readyz and /metrics. */
  function opsComponents(): Component[] {
    if (config.http.metricsPort === undefined) return [];
    const port = config.http.metricsPort;
    return [
      component('operations http', {
        start: async () => {
          const ops = createOpsApp({ db, logger, redis: producer, metrics, ...health() });
          http = new HttpServer(ops.fetch, { ...listenOn, port, variable: 'METRICS_PORT' }, logger);
          await http.listen();
        },
        stop: () => http?.close(),
      }),
    ];
  }

  const started = await startComponents(components, logger);
  return {
    db,
    queues,
    relay,
    reconciler,
    webhookDeliveries,
    webhookRedrive,
    metrics,
    prefixClaim: claim,
    port: withApi ? http?.port : undefined,
    host: http?.host,
    metricsPort: withApi ? undefined : http?.port,
    stop: () => started.stop(),
  };
}
