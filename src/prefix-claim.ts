/**
 * One database per queue prefix. Two deployments (two databases) on one Redis with the same
 * QUEUE_PREFIX would take each other's jobs, so the service claims its prefix in Redis with its
 * database's identity: a process whose database is not the claimant refuses to start, and a claim
 * lost with Redis's data is made again. A conflict found later is logged and counted.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RepeatedLog } from './repeated-log.ts';

export interface Claimant {
  database: string;
  /** Where the database lives, for the operator reading the refusal. */
  location: string;
  host: string;
}

export type ClaimResult = { outcome: 'claimed' } | { outcome: 'held'; by: Claimant } | { outcome: 'unreachable'; error: Error };

export class PrefixTakenError extends Error {
  override readonly name = 'PrefixTakenError';
}

/** The Redis key that names the prefix's database; BullMQ's own keys are `prefix:queue:…`. */
export function claimKey(prefix: string): string {
  return `${prefix}:deployment`;
}

export class PrefixClaim {
  private timer: NodeJS.Timeout | undefined;
  private readonly log: RepeatedLog;
  /** Who holds the prefix when it is not this database; undefined while the claim holds. */
  conflict: Claimant | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly self: Claimant,
    private readonly logger: Logger,
    private readonly onConflict: (held: boolean) => void = () => {},
  ) {
    this.log = new RepeatedLog(logger);
  }

  static describe(database: string, location: string): Claimant {
    return { database, location, host: hostname() };
  }

  /** Claims the prefix if nobody holds it; answers who holds it otherwise. */
  async claim(): Promise<ClaimResult> {
    const key = claimKey(this.prefix);
    try {
      const set = await this.redis.set(key, JSON.stringify(this.self), 'NX');
      if (set === 'OK') return { outcome: 'claimed' };
      const holder = parseClaimant(await this.redis.get(key));
      if (!holder || holder.database === this.self.database) return { outcome: 'claimed' };
      return { outcome: 'held', by: holder };
    } catch (error) {
      return { outcome: 'unreachable', error: error as Error };
    }
  }

  /** At start: throws PrefixTakenError when another database holds the prefix. */
  async claimAtStart(): Promise<void> {
    const result = await this.claim();
    if (result.outcome === 'held') throw new PrefixTakenError(refusal(this.prefix, result.by));
    if (result.outcome === 'unreachable') {
      this.logger.warn({ err: result.error }, 'could not claim the queue prefix yet (Redis unreachable); will keep trying');
    }
  }

  /** Re-claims every `intervalMs`: after Redis restarts empty, the claim is made again. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async check(): Promise<void> {
    const result = await this.claim();
    if (result.outcome === 'held') {
      this.conflict = result.by;
      this.onConflict(true);
      this.log.report('conflict', 'error', { queuePrefix: this.prefix, heldBy: result.by }, refusal(this.prefix, result.by));
    } else if (result.outcome === 'claimed') {
      this.conflict = undefined;
      this.onConflict(false);
      this.log.recovered('conflict', `queue prefix ${this.prefix} belongs to this database again`);
    }
  }
}

function parseClaimant(text: string | null): Claimant | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Claimant>;
    if (typeof value.database !== 'string') return undefined;
    return { database: value.database, location: String(value.location ?? '?'), host: String(value.host ?? '?') };
  } catch {
    return undefined;
  }
}

function refusal(prefix: string, by: Claimant): string {
  return (
    `QUEUE_PREFIX=${prefix} belongs to another database (${by.location} on ${by.host}, id ${by.database}) on this Redis: ` +
    'give each deployment its own QUEUE_PREFIX, or point this one at that database'
  );
}
