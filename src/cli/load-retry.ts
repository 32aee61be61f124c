/**
 * How `orders load` retries an order, as a storefront would: an attempt that got no answer
 * (connection refused or reset, a timeout) or was told to come back (503 or 429, with
 * Retry-After) is tried again with the same Idempotency-Key, with exponential backoff and jitter,
 * for a bounded while. Any other answer is final: a refusal is not retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** What a retry decision reads of one attempt's answer (load-engine's Placement has these). */
export interface AttemptAnswer {
  /** The HTTP status, or 0 when no answer came. */
  status: number;
  latencyMs: number;
  attempts?: number;
  retryAfterS?: number;
}

export interface RetryPolicy {
  /** How long an order is retried, from its first attempt; 0: never. */
  retryForMs: number;
  /** Each attempt gives up waiting for an answer after this long. */
  requestTimeoutMs: number;
  /** The first delay between attempts; it doubles each time, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retryForMs: 30_000, requestTimeoutMs: 10_000, baseDelayMs: 100, maxDelayMs: 2_000 };

/** A Retry-After longer than this is not waited for in full: the load would stall. */
const MAX_RETRY_AFTER_MS = 10_000;

/** Whether another attempt may succeed: no answer at all, or the service asked to come back later. */
export function retryable(placement: AttemptAnswer): boolean {
  return placement.status === 0 || placement.status === 503 || placement.status === 429;
}

/**
 * The wait before attempt `attempt + 1`: full jitter over an exponential ceiling, or the
 * service's Retry-After (capped) when it gave one.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterS?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterS !== undefined) return Math.min(retryAfterS * 1_000, MAX_RETRY_AFTER_MS);
  const ceiling = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs `attempt` until it gives a final answer or `policy.retryForMs` has passed (a last attempt
 * is not started past it). Answers the last placement, with the number of attempts made and the
 * latency of the whole, as the customer waited it.
 */
export async function withRetries<P extends AttemptAnswer>(policy: RetryPolicy, attempt: () => Promise<P>): Promise<P> {
  const started = performance.now();
  for (let attempts = 1; ; attempts++) {
    const placement = await attempt();
    const elapsed = performance.now() - started;
    const done = { ...placement, attempts, latencyMs: elapsed };
    if (!retryable(placement)) return done;
    const delay = retryDelayMs(attempts, policy, placement.retryAfterS);
    if (elapsed + delay > policy.retryForMs) return done;
    await sleep(delay);
  }
}
