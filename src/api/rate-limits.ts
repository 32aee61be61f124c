/**
 * Abuse limits, counted in Redis (rate-limiter-flexible) so that they hold across every API
 * process of a deployment: requests per API key, requests per client address that come without
 * a valid key, and wrong admin credentials per client address.
 *
 * A limiter never stops intake on its own account: when Redis is away (not connected) it answers
 * at once, and when Redis does not answer (frozen, overloaded) it is given LIMIT_TIMEOUT_MS; either
 * way the request goes through, uncounted, and a warning is logged (at most once a minute).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RLWrapperTimeouts, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { isOutOfMemory } from '../queues/connection.ts';

/** How long a request may wait on the limiter's Redis before it goes through uncounted. */
const LIMIT_TIMEOUT_MS = 200;

/** One limit: so many points per window, per key (an API key's id, a client address). */
export interface Limit {
  /** Counts one for `key`: the seconds to wait when it is over the limit, else undefined. */
  consume(key: string): Promise<number | undefined>;
  /** Without counting: the seconds to wait when `key` is over the limit already, else undefined. */
  overLimit(key: string): Promise<number | undefined>;
}

export interface Limits {
  /** Requests per API key on the client routes. */
  apiKey?: Limit;
  /** Requests per client address on the client routes without a valid API key. */
  address?: Limit;
  /** Wrong admin credentials per client address. */
  adminFailures?: Limit;
}

export interface LimitSettings {
  /** Keeps one deployment's counters apart from another's on a shared Redis (QUEUE_PREFIX). */
  prefix: string;
  /** Per second; 0: no limit. */
  apiKeyRateLimit: number;
  /** Per minute; 0: no limit. */
  addressRateLimit: number;
  /** Per minute; 0: no limit. */
  adminAuthFailureLimit: number;
  timeoutMs?: number;
}

export function redisLimits(redis: Redis, settings: LimitSettings, logger: Logger): Limits {
  const warn = warnAtMostEveryMinute(logger, settings.timeoutMs ?? LIMIT_TIMEOUT_MS);
  const limit = (name: string, points: number, seconds: number) =>
    points > 0
      ? new RedisLimit(redis, `${settings.prefix}:limit:${name}`, points, seconds, settings.timeoutMs ?? LIMIT_TIMEOUT_MS, warn)
      : undefined;
  return {
    apiKey: limit('api-key', settings.apiKeyRateLimit, 1),
    address: limit('address', settings.addressRateLimit, 60),
    adminFailures: limit('admin-failures', settings.adminAuthFailureLimit, 60),
  };
}

class RedisLimit implements Limit {
  private readonly limiter: RLWrapperTimeouts;

  constructor(
    redis: Redis,
    keyPrefix: string,
    private readonly points: number,
    seconds: number,
    timeoutMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    const store = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points,
      duration: seconds,
      // A disconnected client answers at once instead of queueing the command.
      rejectIfRedisNotReady: true,
      // A key over its limit is refused from memory until its window ends, sparing Redis a flood.
      inMemoryBlockOnConsumed: points + 1,
    });
    this.limiter = new RLWrapperTimeouts({ limiter: store, timeoutMs });
  }

  async consume(key: string): Promise<number | undefined> {
    try {
      await this.limiter.consume(key);
      return undefined;
    } catch (error) {
      if (error instanceof RateLimiterRes) return secondsOf(error.msBeforeNext);
      this.onError(error);
      return undefined;
    }
  }

  async overLimit(key: string): Promise<number | undefined> {
    try {
      const res = await this.limiter.get(key);
      return res && res.consumedPoints > this.points ? secondsOf(res.msBeforeNext) : undefined;
    } catch (error) {
      this.onError(error);
      return undefined;
    }
  }
}

const secondsOf = (ms: number) => Math.max(1, Math.ceil(ms / 1_000));

function warnAtMostEveryMinute(logger: Logger, timeoutMs: number): (error: unknown) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < 60_000) return;
    last = now;
    logger.warn({ err: error }, `rate limiter: ${limiterTrouble(error, timeoutMs)}; requests go through uncounted meanwhile`);
  };
}

/** What kept the limiter from counting, in an operator's words: slow is not the same as away. */
export function limiterTrouble(error: unknown, timeoutMs: number): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isOutOfMemory(error)) return 'Redis is out of memory and refuses to count';
  // RLWrapperTimeouts' own words for a Redis that did not answer in time.
  if (message === 'Operation timed out') return `Redis did not answer within ${timeoutMs} ms (slow, overloaded or frozen)`;
  // rejectIfRedisNotReady, and ioredis without its offline queue.
  if (/not ready|isn't writeable|Connection is closed|ECONNREFUSED/i.test(message)) return 'Redis is not connected';
  return `Redis answered with an error (${message.slice(0, 120)})`;
}
