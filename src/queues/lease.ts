/**
 * Short leases in Redis, so that two runs of the same work at the same moment (a job delivered
 * twice, on two workers) do not both do it. Transport-level, like a deterministic jobId: the
 * database record stays the real guard, the lease only closes the window between checking it and
 * writing it, across processes. A lease lost with Redis costs at most one duplicate.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Takes the lease named `key`; answers how to give it back, or undefined when someone holds it. */
export type Lease = (key: string) => Promise<(() => Promise<void>) | undefined>;

// Deletes the lease only if it is still ours: it may have expired and been taken by another run.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export function redisLease(connection: Redis, prefix: string, ttlMs: number): Lease {
  return async (key) => {
    const name = `${prefix}:lease:${key}`;
    const token = randomBytes(12).toString('hex');
    const taken = await connection.set(name, token, 'PX', ttlMs, 'NX');
    if (taken !== 'OK') return undefined;
    return async () => {
      await connection.eval(RELEASE, 1, name, token);
    };
  };
}
