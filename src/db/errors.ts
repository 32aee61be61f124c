/**
 * The store's failures that are nobody's fault, as types. Each engine raises them, once, where it
 * runs statements (src/db/engines/, which alone knows its driver's error codes); everyone else
 * decides by type: a request is answered 503 with Retry-After (api/problem.ts), a job waits
 * `retryAfterMs` without spending an attempt (processors/failure-policy.ts), readiness says the
 * database is unwritable (db/service-meta.ts), and the logs say which it was, with backoff.
 *
 * Both keep the driver's error as `cause` and its code as `code`, for the logs.
 */
import { RetryLaterError } from '../domain/errors.ts';

/**
 * How long to wait for a store that is away or out of room: long enough for a restart, a failover
 * or an operator freeing a disk not to be hammered, short enough that work resumes soon after.
 */
const UNAVAILABLE_RETRY_MS = 2_000;

/** How long to wait after losing to concurrent sessions: they hold their rows for milliseconds. */
const CONTENTION_RETRY_MS = 500;

/**
 * The database cannot do the work now: a full disk, an I/O error, a read-only or corrupt file,
 * SQLite's write lock held elsewhere past the runner's wait, a PostgreSQL server that is down,
 * shutting down, unreachable or out of resources. Readiness says "unwritable" until a write
 * succeeds again; no restart is needed.
 */
export class StorageUnavailableError extends RetryLaterError {
  override readonly name = 'StorageUnavailableError';
  constructor(
    /** The driver's code (`SQLITE_FULL`, `57P01`, `ECONNREFUSED`, `CONNECTION_LOST`…). */
    readonly code: string,
    cause: unknown,
    retryAfterMs = UNAVAILABLE_RETRY_MS,
  ) {
    super(`The database is unavailable (${code}): ${messageOf(cause)}`, retryAfterMs, { cause });
  }
}

/**
 * The work lost to concurrent sessions and wrote nothing: a PostgreSQL transaction that kept
 * failing on serialization (40001), deadlock (40P01) or a racing insert (23505) through every run
 * the engine gives it, or a statement the server ended because another session held a row or a
 * table it needed past the lock or statement timeout (55P03, 57014). The server and the
 * connection are fine, so readiness is not affected.
 */
export class ContentionError extends RetryLaterError {
  override readonly name = 'ContentionError';
  constructor(
    /** The driver's code: `40001`, `40P01`, `23505`, `55P03` or `57014`. */
    readonly code: string,
    cause: unknown,
    retryAfterMs = CONTENTION_RETRY_MS,
  ) {
    super(`The database work lost to concurrent changes (${code}): ${messageOf(cause)}`, retryAfterMs, { cause });
  }
}

/** The driver's own words: drizzle's wrapper says only which query failed, its cause says why. */
function messageOf(error: unknown): string {
  let text = '';
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && message) text = message;
    if ((e as { code?: unknown }).code !== undefined) break;
  }
  return text || String(error);
}
