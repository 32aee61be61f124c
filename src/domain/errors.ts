/**
 * Errors typed by what to do with them.
 *
 * - A refusal (`DomainError`) is the caller's to fix: it carries a kind (invalid, unprocessable,
 *   not found, conflict) and the offending fields. What each kind becomes over HTTP (status, slug,
 *   title) is decided in one place, api/problem.ts; nothing here knows about HTTP.
 * - A `TransientError` is a passing failure of something outside (the network, a timeout, a
 *   server's 4xx or 5xx): the job that met it retries with backoff.
 * - A `RetryLaterError` is a transient failure that says when to come back (the store is away,
 *   or the work lost to concurrent changes: db/errors.ts): nothing was done, so a job waits
 *   `retryAfterMs` without spending an attempt, and a request is answered 503 with Retry-After.
 * - An `InvariantViolation` is a state the code says cannot happen: retrying cannot help, so the
 *   job that met it fails at once and the order's timeline says why (processors/failure-policy.ts).
 */

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `items.0.quantity`. */
  field: string;
  message: string;
}

/** What a refusal says about the request: the caller must change it, or the state it meets. */
export type RefusalKind = 'invalid' | 'unprocessable' | 'not-found' | 'conflict';

export class DomainError extends Error {
  constructor(
    readonly kind: RefusalKind,
    detail: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(detail);
  }
}

export class ValidationError extends DomainError {
  override readonly name = 'ValidationError';
  constructor(detail: string, fields: FieldIssue[] = []) {
    super('invalid', detail, fields);
  }
}

export class UnprocessableError extends DomainError {
  override readonly name = 'UnprocessableError';
  constructor(detail: string, fields: FieldIssue[] = []) {
    super('unprocessable', detail, fields);
  }
}

export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(detail: string) {
    super('not-found', detail);
  }
}

export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  constructor(detail: string, fields: FieldIssue[] = []) {
    super('conflict', detail, fields);
  }
}

/** A failure worth retrying: the network, a timeout, a server that is down for now. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
}

/**
 * A transient failure that is nobody's fault and says how long to wait: the same work, run again
 * after `retryAfterMs`, will most likely pass. Waiting for it is not a failed attempt.
 */
export class RetryLaterError extends TransientError {
  override readonly name: string = 'RetryLaterError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A state the code says cannot happen. Retrying cannot mend it; a person has to look. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}
