/**
 * Whether the database can take writes. A full disk, an I/O error or a PostgreSQL server that
 * cannot be reached is an outage, not a bug: the request that needed the write gets a 503 and
 * /readyz says not ready, until writes succeed again (no restart needed: SQLite retries the file
 * on the next write, the PostgreSQL pool opens new connections). Each connection keeps the record
 * of its last failure (db/client.ts `Connection`).
 */

/** SQLite's result codes that mean "the storage failed", as opposed to a bug in a statement. */
const SQLITE_CODES = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|NOMEM|CORRUPT|NOTADB|PROTOCOL)/;

/**
 * PostgreSQL's SQLSTATEs that mean the server is away or out of room: connection exceptions
 * (08), shutting down or starting (57P01-57P03), insufficient resources (53: disk full, out of
 * memory, too many connections), system errors (58: I/O), and a read-only server (25006).
 */
const POSTGRES_CODES = /^(08...|57P0[123]|53...|58...|25006)$/;

/** The socket's failures on the way to a server. */
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN)$/;

/** node-postgres's own words for a connection that broke or never came (these carry no code). */
const POSTGRES_CLIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed|Query read timeout|Connection ended/i;

/** The code of a storage failure anywhere in `error`'s cause chain, else undefined. */
export function storageFailureCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SQLITE_CODES.test(code) || POSTGRES_CODES.test(code) || NETWORK_CODES.test(code))) {
      return code;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && POSTGRES_CLIENT_MESSAGES.test(message)) return 'CONNECTION_LOST';
  }
  return undefined;
}

/** The first string `code` in `error`'s cause chain (drizzle wraps the driver's error). */
export function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * A serialization failure (40001) or a deadlock (40P01): the transaction lost to a concurrent one
 * and wrote nothing. It may simply run again; once the engine's own retries are spent, the caller
 * is told to come back shortly rather than that something broke.
 */
export function isSerializationFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code === '40001' || code === '40P01';
}

/**
 * A statement the server ended for waiting too long (57014, statement_timeout) or a lock it could
 * not take in time (55P03, lock_timeout): another session holds a row or a table this one needs.
 * Nothing was written, and the server and the connection are fine: the caller comes back later
 * (a request gets 503 with Retry-After, a job is delayed without spending an attempt), and
 * readiness is not affected.
 */
export function isServerTimeout(error: unknown): boolean {
  const code = errorCode(error);
  return code === '57014' || code === '55P03';
}
