/**
 * What a job does with the error its run threw, decided by the error's type alone (as BullMQ's
 * one `handleFailed` does):
 *
 * - `delay` (a RetryLaterError: the database cannot write, or the work lost to concurrent
 *   sessions; db/errors.ts): nobody's fault, and it says how long to wait. The job waits that
 *   long and runs again without spending an attempt, however long the outage lasts
 *   (processors/workers.ts); where it cannot be moved (no token), it retries as a transient one.
 * - `transient` (any other TransientError: a provider's network failure or timeout, a mail server
 *   that is down): retry with backoff while attempts remain, then wait in the failed set.
 * - `permanent` (an InvariantViolation: a state the code says cannot happen; or a job BullMQ is
 *   told not to retry, an UnrecoverableError: malformed data, an order of another deployment):
 *   straight to the failed set, where an operator finds it with a JobFailed entry on the order's
 *   timeline. Ten retries of a broken invariant only repeat it.
 * - `unknown` (anything else): retried like a transient error. An error nobody classified may well
 *   pass (a provider SDK's own network error), and the attempts bound the cost when it does not;
 *   it is logged as an error, so that someone gives it a kind.
 */
import { UnrecoverableError } from 'bullmq';
import { InvariantViolation, RetryLaterError, TransientError } from '../domain/errors.ts';

export type FailureKind = 'delay' | 'transient' | 'permanent' | 'unknown';

export function failureKind(error: unknown): FailureKind {
  if (error instanceof RetryLaterError) return 'delay';
  if (error instanceof TransientError) return 'transient';
  if (error instanceof InvariantViolation || error instanceof UnrecoverableError) return 'permanent';
  return 'unknown';
}

/**
 * A permanent failure as BullMQ must see it to stop retrying (an UnrecoverableError), keeping the
 * original's name, message and stack for the logs and the failed set.
 */
export class GivenUp extends UnrecoverableError {
  constructor(readonly original: Error) {
    super(original.message);
    this.name = original.name;
    this.stack = original.stack;
  }
}

/** The error a worker throws for `error`: permanent ones as GivenUp, so that BullMQ does not retry. */
export function asThrown(error: unknown): unknown {
  if (failureKind(error) !== 'permanent' || error instanceof UnrecoverableError) return error;
  return new GivenUp(error as Error);
}

/**
 * How long a job waits before it runs again after `error` (a RetryLaterError): about what the
 * error says, spread, so that the jobs an outage held back do not all come back at one instant.
 */
export function delayFor(error: RetryLaterError, random = Math.random()): number {
  return Math.round(error.retryAfterMs * (0.5 + random));
}
