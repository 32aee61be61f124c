/**
 * What a job does with the error its run threw, decided by the error's kind alone:
 *
 * - `transient` (a TransientError: a provider's network failure or timeout, a mail server that is
 *   down; or a PostgreSQL transaction that lost to concurrent ones at each of its runs): retry
 *   with backoff while attempts remain, then wait in the failed set.
 * - `permanent` (an InvariantViolation: a state the code says cannot happen; or a job BullMQ is
 *   told not to retry, an UnrecoverableError: malformed data, an order of another deployment):
 *   straight to the failed set, where an operator finds it with a JobFailed entry on the order's
 *   timeline. Ten retries of a broken invariant only repeat it.
 * - `unknown` (anything else): retried like a transient error. An error nobody classified may well
 *   pass (a SQLite lock held too long, a provider SDK's own network error), and the attempts bound
 *   the cost when it does not; it is logged as an error, so that someone gives it a kind.
 *
 * A database that cannot write (a full disk), or a statement the server ended for waiting on a
 * lock (PostgreSQL's lock_timeout, statement_timeout), is none of these: the worker delays the job
 * without spending an attempt (processors/workers.ts); where it cannot (no token), it is transient.
 */
import { UnrecoverableError } from 'bullmq';
import { isSerializationFailure, isServerTimeout } from '../db/storage-health.ts';
import { InvariantViolation, TransientError } from '../domain/errors.ts';

export type FailureKind = 'transient' | 'permanent' | 'unknown';

export function failureKind(error: unknown): FailureKind {
  if (error instanceof TransientError || isSerializationFailure(error) || isServerTimeout(error)) return 'transient';
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
