/**
 * Redis connections for the queues. Producers fail fast while Redis is away (the outbox keeps the
 * events and the relay tries again); workers wait and reconnect by themselves.
 */
import { Redis, type RedisOptions } from 'ioredis';

export { safeUrl } from '../lib/safe-url.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Redis through Sentinel is named, where the rest of the service passes a Redis URL, by a URL of
 * its own: `redis-sentinel://host1:port1,host2:port2/masterName`. ioredis asks the sentinels for
 * the master, and asks again whenever the connection is lost or the master changes.
 */
const SENTINEL_SCHEME = 'redis-sentinel://';

export function sentinelUrl(target: { sentinels: { host: string; port: number }[]; name: string }): string {
  return `${SENTINEL_SCHEME}${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${target.name}`;
}

/** A connection to what `url` names, a Redis or (redis-sentinel://) a Sentinel-managed master. */
function connectTo(url: string, options: RedisOptions): Redis {
  if (!url.startsWith(SENTINEL_SCHEME)) return new Redis(url, options);
  const [hosts = '', name = ''] = url.slice(SENTINEL_SCHEME.length).split('/');
  const sentinels = hosts.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
  });
  // failoverDetector: told by the sentinels of a new master, the connection moves to it at once.
  return new Redis({ ...options, sentinels, name, failoverDetector: true });
}

const reconnect: RedisOptions = {
  // Keep trying for as long as the process lives: Redis restarts are routine, not fatal.
  retryStrategy: (times) => Math.min(50 * times, 2_000),
  lazyConnect: false,
};

/**
 * A write refused with READONLY: the server this connection reached is a replica now (a failover
 * behind a stable address: the old primary was demoted, and the address points at the new one).
 * Only a new connection reaches the new primary.
 */
export function isReadOnlyReply(error: unknown): boolean {
  return error instanceof Error && /\bREADONLY\b/.test(error.message);
}

/** How long a connection may hear nothing back while a command waits, before it counts as dead. */
export const DEFAULT_SOCKET_TIMEOUT_MS = 10_000;

/**
 * Redis refusing a write because it reached `maxmemory` under `noeviction` ("OOM command not
 * allowed when used memory > 'maxmemory'"), anywhere in the error's cause chain: not a Redis that
 * is away, and not something a retry fixes until memory is freed or raised.
 */
export function isOutOfMemory(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /\bOOM\b/.test(message)) return true;
  }
  return false;
}

/** The message ioredis destroys a silent socket with (its `socketTimeout`). */
export function isSilentSocket(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('Socket timeout');
}

/**
 * For Queue instances, the relay and every Redis call made for an HTTP answer: commands fail at
 * once while disconnected, and after `commandTimeoutMs` when Redis is connected but does not
 * answer (frozen, swapping, overloaded), so that nothing waits on it for long. A connection that
 * hears nothing for `socketTimeoutMs` while a command waits is dropped and made again: a
 * half-open TCP connection (a lost NAT entry, a balancer whose upstream moved) never gives up by
 * itself, and TCP keepalives do not notice a middlebox that answers them.
 */
export function createProducerConnection(
  url: string,
  commandTimeoutMs = 2_000,
  socketTimeoutMs = DEFAULT_SOCKET_TIMEOUT_MS,
): Redis {
  return connectTo(url, {
    ...reconnect,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    socketTimeout: socketTimeoutMs,
    // Reconnect; the command fails (no offline queue here) and its caller tries again later.
    reconnectOnError: (error) => isReadOnlyReply(error),
    connectionName: 'orders-producer',
  });
}

/**
 * For workers: BullMQ's blocking commands need maxRetriesPerRequest null. Without an answer for
 * `socketTimeoutMs` while a command waits, the connection is dropped and made again, and its
 * waiting commands are sent again on the new one (a half-open connection otherwise stops every
 * worker of the process until TCP gives up, minutes later).
 */
export function createWorkerConnection(url: string, socketTimeoutMs = DEFAULT_SOCKET_TIMEOUT_MS): Redis {
  const connection = connectTo(url, {
    ...reconnect,
    maxRetriesPerRequest: null,
    socketTimeout: socketTimeoutMs,
    // Reconnect and send the refused command again, on the new connection.
    reconnectOnError: (error) => (isReadOnlyReply(error) ? 2 : false),
    connectionName: 'orders-worker',
  });
  // BullMQ duplicates this connection for its blocking commands, which wait up to 10 s on purpose
  // and have BullMQ's own watchdog: the silence rule is for this connection only, where every
  // command (taking a job, renewing a lock, finishing a job) answers at once.
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (override?: Partial<RedisOptions>) => duplicate({ ...override, socketTimeout: undefined });
  return connection;
}

/** Answers whether a Redis server answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const probe = connectTo(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  probe.on('error', () => {});
  // connectTimeout covers the TCP handshake only: a port that accepts and never answers (a
  // frozen Redis, something else listening) would hold the probe for ever.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const answered = (async () => {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  })().catch(() => false);
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}

/** Redis's eviction policy; anything but noeviction can silently drop job keys. */
export async function maxmemoryPolicy(connection: Redis): Promise<string | undefined> {
  const reply = (await connection.config('GET', 'maxmemory-policy')) as string[];
  return reply[1];
}
