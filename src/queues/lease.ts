/**
 * Short leases in Redis, so that two runs of the same work at the same moment (a job delivered
 * twice, on two workers) do not both do it. Transport-level, like a deterministic jobId: the
 * database record stays the real guard, the lease only closes the window between checking it and
 * writing it, across processes. A lease lost with Redis costs at most one duplicate.
 *
 * A lease can lapse under a holder that was paused (SIGSTOP, a VM frozen, a long GC) while another
 * run takes it and does the work: the holder must ask `held()` right before its effect and give up
 * when it says no. `held()` is false once the lease may have lapsed by this host's monotonic clock
 * (which runs on through a pause), whatever Redis says, and when Redis holds another run's token.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LeaseHandle {
  /** Whether the lease is still this run's, to be asked right before the effect it guards. */
  held(): Promise<boolean>;
  /** Gives the lease back, if it is still ours. */
  release(): Promise<void>;
}

/** Takes the lease named `key`; answers its handle, or undefined when someone holds it. */
export type Lease = (key: string) => Promise<LeaseHandle | undefined>;

// Deletes the lease only if it is still ours: it may have expired and been taken by another run.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** What `held()` keeps in hand: a lease this close to its end counts as lapsed. */
const MARGIN = 0.2;

export function redisLease(connection: Redis, prefix: string, ttlMs: number): Lease {
  return async (key) => {
    const name = `${prefix}:lease:${key}`;
    const token = randomBytes(12).toString('hex');
    // Measured before asking, so that the deadline is never later than the lease's end in Redis.
    const lapsesAt = performance.now() + ttlMs * (1 - MARGIN);
    const taken = await connection.set(name, token, 'PX', ttlMs, 'NX');
    if (taken !== 'OK') return undefined;
    return {
      async held() {
        if (performance.now() >= lapsesAt) return false;
        const holder = await connection.get(name);
        return holder === token && performance.now() < lapsesAt;
      },
      async release() {
        await connection.eval(RELEASE, 1, name, token);
      },
    };
  };
}
