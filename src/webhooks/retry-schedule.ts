/**
 * When a failed delivery is tried again, and when it is given up: exponential backoff from
 * `baseMs`, doubling per attempt up to `maxDelayMs`, each wait drawn between half and all of it
 * (jitter, so that the deliveries a receiver's outage held back do not all arrive at once when it
 * returns), for as long as the delivery is younger than `giveUpAfterMs` (about three days by
 * default, as the providers integrators compare us with). Pure: the caller gives the randomness.
 */
export interface RetrySchedule {
  baseMs: number;
  maxDelayMs: number;
  giveUpAfterMs: number;
}

export type NextStep = { retryAt: number } | { giveUp: true };

/**
 * After the `attempts`-th failed attempt (1 for the first) of a delivery whose retries are counted
 * from `windowStart`, at `now`: when to try again, or to give up. `random` is in [0, 1).
 */
export function nextAttempt(
  schedule: RetrySchedule,
  attempts: number,
  windowStart: number,
  now: number,
  random: number,
): NextStep {
  const exponent = Math.min(Math.max(attempts - 1, 0), 40);
  const full = Math.min(schedule.baseMs * 2 ** exponent, schedule.maxDelayMs);
  const retryAt = now + Math.round(full * (0.5 + random / 2));
  if (retryAt - windowStart > schedule.giveUpAfterMs) return { giveUp: true };
  return { retryAt };
}
