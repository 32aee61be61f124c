/**
 * Entry point: reads the config, finds or starts Redis, runs the API and/or the workers as ROLE
 * says, and shuts down gracefully on SIGTERM/SIGINT (a second signal exits at once).
 */
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { DEFAULT_REDIS_URL, redisAnswers, sentinelUrl } from './queues/connection.ts';
import { PrefixTakenError } from './queues/prefix-claim.ts';
import { managedRedisDir, redisServerOnPath, runningManagedRedis } from './redis-server/managed-redis.ts';
import { useManagedRedis, type ManagedRedisUse } from './redis-server/managed-redis-users.ts';
import { FollowedConnections, followManagedRedis, type RedisFollower } from './redis-server/redis-follow.ts';
import { ListenError, startService, type RunningService } from './service.ts';
import { StoreOpenError } from './db/open.ts';
import { safeUrl } from './lib/safe-url.ts';
import { startTracing, type Tracing } from './telemetry/tracing.ts';

async function findRedis(config: Config, logger: Logger): Promise<{ url: string; managed?: ManagedRedisUse }> {
  if (config.redis.redisSentinels) return { url: sentinelUrl(config.redis.redisSentinels) };
  if (config.redis.redisUrl) return { url: config.redis.redisUrl };
  if (config.redis.managedRedis === 'auto' && (await redisAnswers(DEFAULT_REDIS_URL))) return { url: DEFAULT_REDIS_URL };
  const dir = managedRedisDir(config.store);
  if (!redisServerOnPath() && !(await runningManagedRedis(dir))) {
    throw new ConfigError(
      'no Redis answers on 127.0.0.1:6379 and redis-server is not on the PATH: install Redis (apt-get install redis-server, brew install redis) or set REDIS_URL',
    );
  }
  // Another process of this deployment may have started one already: share it.
  const managed = await useManagedRedis(dir);
  const said = {
    started: 'started a managed redis-server',
    shared: 'using the managed redis-server of this deployment',
    adopted: 'adopted the managed redis-server its last process left running',
  } as const;
  logger.info({ url: managed.url }, said[managed.how]);
  return { url: managed.url, managed };
}

/** The URL of a bound address: IPv6 in brackets, as a browser or curl wants it. */
function httpAddress(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A graceful stop leaves the managed Redis, which stops it when no other process uses it. */
async function leaveManagedRedis(managed: ManagedRedisUse | undefined, follower: RedisFollower | undefined, logger: Logger) {
  follower?.stop();
  if (!managed) return;
  const others = await managed.leave();
  if (others === 0) logger.info('stopped the managed redis-server: no other process uses it');
  else logger.info({ others }, 'left the managed redis-server running for the other processes using it');
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, { traceIds: config.tracing !== undefined });
  // Before anything makes spans; without an endpoint the SDK is never loaded.
  const tracing: Tracing | undefined = config.tracing ? await startTracing(config.tracing, logger) : undefined;

  let redis: { url: string; managed?: ManagedRedisUse };
  try {
    redis = await findRedis(config, logger);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }

  // A managed Redis may move to another port while this process runs: follow it there.
  const connections = new FollowedConnections();
  let service: RunningService;
  try {
    service = await startService(
      config,
      redis.url,
      logger,
      redis.managed ? { onRedisConnection: (c) => connections.add(c) } : {},
    );
  } catch (error) {
    await redis.managed?.leave();
    if (!(error instanceof PrefixTakenError || error instanceof StoreOpenError || error instanceof ListenError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const follower = redis.managed ? followManagedRedis(managedRedisDir(config.store), redis.url, connections, logger) : undefined;
  logger.info(
    {
      role: config.role,
      host: service.host,
      port: service.port,
      metricsPort: service.metricsPort,
      redis: safeUrl(redis.url),
      database: config.store.databaseUrl ? safeUrl(config.store.databaseUrl) : config.store.databasePath,
    },
    service.port ? `order service listening on ${httpAddress(service.host!, service.port)}` : 'order workers running',
  );
  if (config.api.adminTokenGenerated && config.role !== 'worker') {
    logger.warn({ adminToken: config.api.adminToken }, 'ADMIN_TOKEN was not set; generated one for this run');
  }
  if (config.api.apiKeysGenerated && config.role !== 'worker') {
    logger.warn({ apiKey: config.api.apiKeys[0] }, 'API_KEYS was not set; generated one API key for this run');
  }
  if (config.api.webhookSecretGenerated && config.role !== 'worker') {
    logger.warn({ webhookSecret: config.api.webhookSecret }, 'WEBHOOK_SECRET was not set; generated one for this run');
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing active jobs');
    service
      .stop()
      // biome-ignore lint/nursery/noMisusedPromises: finally() waits for the promise its callback returns
      .finally(() => leaveManagedRedis(redis.managed, follower, logger))
      .then(() => tracing?.shutdown())
      .then(() => {
        logger.info('stopped cleanly');
        process.exit(0);
      })
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error) => {
  process.stderr.write(`order service failed to start: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
