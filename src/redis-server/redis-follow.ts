/**
 * Following the managed redis-server when it moves to another port (it died and the next one
 * found its port taken). A process watches the URL file; when it names a new address that
 * answers, every Redis connection the process made is pointed there and reconnects, without a
 * restart. BullMQ workers make their own connections by duplicating the one they are given
 * (one for commands, one for blocking fetches), so duplicates are followed too.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisAnswers } from '../queues/connection.ts';
import { managedRedisUrl } from './managed-redis.ts';

/** The Redis connections of a process, and every connection duplicated from them. */
export class FollowedConnections {
  private readonly connections = new Set<Redis>();

  add(connection: Redis): void {
    this.connections.add(connection);
    connection.once('end', () => this.connections.delete(connection));
    const duplicate = connection.duplicate.bind(connection);
    connection.duplicate = (override) => {
      const copy = duplicate(override);
      this.add(copy);
      return copy;
    };
  }

  get size(): number {
    return this.connections.size;
  }

  /**
   * Points every connection at `url` and drops its socket: ioredis reconnects to the new address
   * (its connector reads the same options object), and commands waiting for an answer are sent
   * again there.
   */
  moveTo(url: string): void {
    const { hostname, port } = new URL(url);
    for (const connection of this.connections) {
      connection.options.host = hostname;
      connection.options.port = Number(port || 6379);
      connection.disconnect(true);
    }
  }
}

export interface RedisFollower {
  stop(): void;
}

/** Polls `dataDir`'s URL file every `intervalMs` and moves `connections` when it names a new address that answers. */
export function followManagedRedis(
  dataDir: string,
  url: string,
  connections: FollowedConnections,
  logger: Logger,
  { intervalMs = 1_000 } = {},
): RedisFollower {
  let current = url;
  let checking = false;
  const timer = setInterval(() => {
    const named = managedRedisUrl(dataDir);
    if (checking || !named || named === current) return;
    checking = true;
    void redisAnswers(named, 500)
      .then((answers) => {
        if (!answers || managedRedisUrl(dataDir) !== named) return;
        logger.info({ from: current, to: named, connections: connections.size }, 'the managed redis-server moved; following it');
        current = named;
        connections.moveTo(named);
      })
      .finally(() => (checking = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
