/**
 * One database per queue prefix. Two deployments (two databases) on one Redis with the same
 * QUEUE_PREFIX would take each other's jobs, so the service claims its prefix in Redis with its
 * database's identity: a process whose database is not the claimant refuses to start, and a claim
 * lost with Redis's data is made again. A conflict found later is logged and counted.
 *
 * A claim is a lease, not a deed: every process of the claimant renews it every few seconds, and
 * one nobody renews lapses after CLAIM_TTL_MS, so a deployment that is gone stops blocking the
 * prefix by itself. At start, a claim whose claimant is provably gone (made on this host for the
 * same database location, where this process has just found another database) is taken over at
 * once: that is `rm -rf data && npm start`. `orders release-prefix` releases any other stale one.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RepeatedLog } from '../lib/repeated-log.ts';

export interface Claimant {
  database: string;
  /** Where the database lives (an absolute file path, or a URL without its password). */
  location: string;
  host: string;
  /**
   * The deployment's STUCK_AFTER_MS, published with the claim so that `orders reconcile` uses
   * the running service's value rather than its own environment's.
   */
  stuckAfterMs?: number;
}

export type ClaimResult =
  | { outcome: 'claimed' }
  | { outcome: 'held'; by: Claimant; raw: string }
  | { outcome: 'unreachable'; error: Error };

export class PrefixTakenError extends Error {
  override readonly name = 'PrefixTakenError';
}

/** How long a claim lasts without being renewed: several renewals, so a slow one does not lose it. */
export const CLAIM_TTL_MS = 30_000;

/** The Redis key that names the prefix's database; BullMQ's own keys are `prefix:queue:…`. */
export function claimKey(prefix: string): string {
  return `${prefix}:deployment`;
}

/**
 * Sets the claim when nobody (or this database, or something unreadable) holds it, with its
 * lifetime renewed; else answers the holder's claim as it is stored.
 */
const CLAIM_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, holder = pcall(cjson.decode, current)
  if ok and type(holder) == 'table' and type(holder.database) == 'string' and holder.database ~= ARGV[2] then
    return current
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false
`;

/** Replaces (or deletes, with an empty value) the claim only if it is still `ARGV[1]`. */
const REPLACE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

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
    private readonly ttlMs: number = CLAIM_TTL_MS,
  ) {
    this.log = new RepeatedLog(logger);
  }

  static describe(database: string, location: string, settings: { stuckAfterMs?: number } = {}): Claimant {
    return { database, location, host: hostname(), ...settings };
  }

  /** Claims (or renews) the prefix if nobody else holds it; answers who holds it otherwise. */
  async claim(): Promise<ClaimResult> {
    try {
      const held = (await this.redis.eval(
        CLAIM_SCRIPT,
        1,
        claimKey(this.prefix),
        JSON.stringify(this.self),
        this.self.database,
        String(this.ttlMs),
      )) as string | null;
      if (held === null) return { outcome: 'claimed' };
      return { outcome: 'held', by: parseClaimant(held)!, raw: held };
    } catch (error) {
      return { outcome: 'unreachable', error: error as Error };
    }
  }

  /**
   * At start: throws PrefixTakenError when another database holds the prefix, unless its claimant
   * is provably gone: it claimed from this host for this very location, and the database found
   * there now is this one, so the claimant's database no longer exists.
   */
  async claimAtStart(): Promise<void> {
    const result = await this.claim();
    if (result.outcome === 'held') {
      if (!isGone(result.by, this.self) || !(await this.replace(result.raw))) {
        throw new PrefixTakenError(refusal(this.prefix, result.by));
      }
      this.logger.warn(
        { queuePrefix: this.prefix, heldBy: result.by },
        `took over QUEUE_PREFIX=${this.prefix}: its claim named a database at ${result.by.location} on this host that is no longer there`,
      );
    }
    if (result.outcome === 'unreachable') {
      this.logger.warn({ err: result.error }, 'could not claim the queue prefix yet (Redis unreachable); will keep trying');
    }
  }

  /** Re-claims every `intervalMs`: renews the claim, and after Redis restarts empty makes it again. */
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

  private async replace(expected: string): Promise<boolean> {
    const args = [claimKey(this.prefix), expected, JSON.stringify(this.self), String(this.ttlMs)];
    return (await this.redis.eval(REPLACE_SCRIPT, 1, ...args)) === 1;
  }
}

/** The claim on `prefix`, if any: who holds it and for how much longer (-1: for ever). */
export async function readClaim(redis: Redis, prefix: string): Promise<{ by: Claimant; raw: string; ttlMs: number } | undefined> {
  const key = claimKey(prefix);
  const [raw, ttlMs] = await Promise.all([redis.get(key), redis.pttl(key)]);
  if (raw === null) return undefined;
  return { by: parseClaimant(raw) ?? { database: '?', location: '?', host: '?' }, raw, ttlMs };
}

/** Deletes the claim on `prefix` if it is still `raw` (a holder that renewed it in between keeps it). */
export async function releaseClaim(redis: Redis, prefix: string, raw: string): Promise<boolean> {
  return (await redis.eval(REPLACE_SCRIPT, 1, claimKey(prefix), raw, '', '0')) === 1;
}

function isGone(holder: Claimant, self: Claimant): boolean {
  // Two in-memory databases share a name, not a place.
  if (self.location === ':memory:') return false;
  return holder.host === self.host && holder.location === self.location && holder.database !== self.database;
}

function parseClaimant(text: string | null): Claimant | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Claimant>;
    if (typeof value.database !== 'string') return undefined;
    return {
      database: value.database,
      location: String(value.location ?? '?'),
      host: String(value.host ?? '?'),
      ...(typeof value.stuckAfterMs === 'number' ? { stuckAfterMs: value.stuckAfterMs } : {}),
    };
  } catch {
    return undefined;
  }
}

function refusal(prefix: string, by: Claimant): string {
  return (
    `QUEUE_PREFIX=${prefix} belongs to another database (${by.location} on ${by.host}, id ${by.database}) on this Redis: ` +
    'give each deployment its own QUEUE_PREFIX, or point this one at that database. ' +
    `If that deployment is gone, its claim lapses ${CLAIM_TTL_MS / 1000} s after its last process stopped, ` +
    `or release it now with \`npm run cli -- release-prefix --queue-prefix ${prefix}\``
  );
}
