/**
 * The one place that reads the drivers' error codes: what a failure of better-sqlite3 or
 * node-postgres means for the store, and the typed error (db/errors.ts) it becomes. The engines
 * call these where they run statements (their transaction runners, and the handle that reads and
 * runs single statements outside a transaction), so that nothing above src/db/engines/ ever looks
 * at a code. As DBOS maps 40001/23505 where it writes, and BullMQ decides by an error's type.
 */
import { ContentionError, StorageUnavailableError } from '../errors.ts';

/**
 * What a driver's failure says about the store:
 * - `unavailable`: the storage failed or cannot be reached; not the statement's fault.
 * - `lock-wait`: the server ended a statement that waited on another session (PostgreSQL).
 * - `conflict`: the transaction lost to a concurrent one and wrote nothing; it may run again.
 */
export type DriverFailure = { kind: 'unavailable' | 'lock-wait' | 'conflict'; code: string };

/** SQLite's result codes (and their extended codes) that mean "the storage failed", not a bug in a statement. */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|NOMEM|CORRUPT|NOTADB|PROTOCOL)/;

/**
 * PostgreSQL's SQLSTATEs that mean the server is away or out of room: connection exceptions
 * (08), shutting down or starting (57P01-57P03), insufficient resources (53: disk full, out of
 * memory, too many connections), system errors (58: I/O), and a read-only server (25006).
 */
const POSTGRES_UNAVAILABLE = /^(08...|57P0[123]|53...|58...|25006)$/;

/** The socket's failures on the way to a server. */
const NETWORK_UNAVAILABLE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN)$/;

/** node-postgres's own words for a connection that broke or never came (these carry no code). */
const POSTGRES_CLIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed|Query read timeout|Connection ended/i;

/**
 * A statement the server ended for waiting too long (57014, statement_timeout) or a lock it could
 * not take in time (55P03, lock_timeout): another session holds a row or a table this one needs.
 */
const POSTGRES_LOCK_WAIT = /^(57014|55P03)$/;

/**
 * A serialization failure (40001), a deadlock (40P01), or a unique violation (23505) from a
 * concurrent transaction that inserted the same key after this one's snapshot was taken. Run
 * again, the transaction sees the other's rows and does what a later one does.
 */
const POSTGRES_CONFLICT = /^(40001|40P01|23505)$/;

/** What a better-sqlite3 failure (anywhere in `error`'s cause chain) says about the store. */
export function sqliteFailure(error: unknown): DriverFailure | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SQLITE_UNAVAILABLE.test(code)) return { kind: 'unavailable', code };
  }
  return undefined;
}

/** What a node-postgres failure (anywhere in `error`'s cause chain) says about the store. */
export function postgresFailure(error: unknown): DriverFailure | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (POSTGRES_UNAVAILABLE.test(code) || NETWORK_UNAVAILABLE.test(code)) return { kind: 'unavailable', code };
      if (POSTGRES_LOCK_WAIT.test(code)) return { kind: 'lock-wait', code };
      // drizzle wraps the driver's error: the first code found is the driver's.
      if (POSTGRES_CONFLICT.test(code)) return { kind: 'conflict', code };
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && POSTGRES_CLIENT_MESSAGES.test(message))
      return { kind: 'unavailable', code: 'CONNECTION_LOST' };
  }
  return undefined;
}

/**
 * The typed error for `error` as `classify` reads it, or `error` itself when it is none of the
 * store's (a bug, a business outcome thrown to roll back) or is typed already. A conflict becomes
 * a ContentionError: a caller that runs the work again (the PostgreSQL runner) decides before
 * this, and calls it once the work lost every run. A unique violation stays as it is: raced, it
 * passes on the next run; met at every run or outside a transaction, it is the statement's own.
 */
export function typedStoreError(error: unknown, classify: (error: unknown) => DriverFailure | undefined): unknown {
  if (error instanceof StorageUnavailableError || error instanceof ContentionError) return error;
  const failure = classify(error);
  if (!failure || failure.code === '23505') return error;
  if (failure.kind === 'unavailable') return new StorageUnavailableError(failure.code, error);
  return new ContentionError(failure.code, error);
}

/** The methods of drizzle's prepared queries that run them (node-postgres's and better-sqlite3's). */
const RUNNING_METHODS = ['execute', 'all', 'get', 'run', 'values'] as const;

/**
 * Makes every statement run through the drizzle handle `db` (its reads, and single statements
 * outside a transaction) fail with the store's typed error instead of the driver's. drizzle wraps
 * a driver's error in its own, so the conversion sits above it: on the prepared query each
 * statement is run by, made by the handle's session. Transactions are converted by their
 * runners, which also decide on retries.
 */
export function raiseTypedErrors(db: object, classify: (error: unknown) => DriverFailure | undefined): void {
  const target = (db as { session: { prepareQuery: (...args: unknown[]) => Record<string, unknown> } }).session;
  const prepareQuery = target.prepareQuery.bind(target);
  const typed = (error: unknown) => typedStoreError(error, classify);
  target.prepareQuery = (...args: unknown[]) => {
    let query: Record<string, unknown>;
    try {
      query = prepareQuery(...args);
    } catch (error) {
      throw typed(error);
    }
    for (const name of RUNNING_METHODS) {
      const method = query[name];
      if (typeof method !== 'function') continue;
      query[name] = (...params: unknown[]) => {
        let result: unknown;
        try {
          result = method.apply(query, params);
        } catch (error) {
          throw typed(error);
        }
        return result instanceof Promise
          ? result.catch((error: unknown) => {
              throw typed(error);
            })
          : result;
      };
    }
    return query;
  };
}

/** `error` and its causes, outermost first (drizzle wraps the driver's error), a few deep at most. */
function* causeChain(error: unknown): Generator<unknown> {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) yield e;
}
