/**
 * A service's Redis connections over their life: made with their error reporting, waited for at
 * start, closed at stop; and the one check of the Redis found (an eviction policy other than
 * noeviction loses jobs, so it is said at start).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RepeatedLog } from '../lib/repeated-log.ts';
import { createProducerConnection, createWorkerConnection, isSilentSocket, maxmemoryPolicy, safeUrl } from './connection.ts';

/** Waits until `redis` is connected, for up to `timeoutMs`; an unreachable Redis is not an error here. */
export async function waitForReady(redis: Redis, timeoutMs: number): Promise<void> {
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

/** Closes a connection politely when Redis answers, at once when it does not. */
export async function closeRedis(redis: Redis): Promise<void> {
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

/**
 * Warns, once Redis answers, when its maxmemory-policy may evict keys: an evicted job key is a
 * lost job. Never throws; a Redis that will not say (a managed one with CONFIG disabled) is let be.
 */
export async function warnOnEvictionPolicy(connection: Redis, logger: Logger): Promise<void> {
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

/**
 * The connection for ordinary commands (queues, the clock, the prefix claim, rate limits). ioredis
 * reconnects by itself; `errors` says so once, then with backoff, not ten times a second.
 */
export function connectProducer(
  url: string,
  timeouts: { commandTimeoutMs: number; socketTimeoutMs: number },
  errors: RepeatedLog,
): Redis {
  const producer = createProducerConnection(url, timeouts.commandTimeoutMs, timeouts.socketTimeoutMs);
  const redis = safeUrl(url);
  const silentMs = timeouts.socketTimeoutMs;
  producer.on('error', (err) =>
    isSilentSocket(err)
      ? errors.report('producer-silent', 'warn', { err, redis, silentMs }, 'connection to Redis went silent; reconnecting')
      : errors.report('producer', 'warn', { err, redis }, 'cannot reach Redis; retrying'),
  );
  producer.on('ready', () => errors.recovered('producer', 'connected to Redis again'));
  return producer;
}

/**
 * The connection the workers' blocking commands share. Each worker reports a Redis that is away,
 * with backoff; a connection dropped because it went silent (half-open) is said here, once for all.
 */
export function connectWorkers(url: string, socketTimeoutMs: number, errors: RepeatedLog): Redis {
  const connection = createWorkerConnection(url, socketTimeoutMs);
  connection.on('error', (err) => {
    if (!isSilentSocket(err)) return;
    errors.report(
      'worker-silent',
      'warn',
      { err, redis: safeUrl(url), silentMs: socketTimeoutMs },
      'worker connection to Redis went silent; reconnecting',
    );
  });
  connection.on('ready', () => errors.recovered('worker-silent', 'worker connection to Redis answers again'));
  return connection;
}
