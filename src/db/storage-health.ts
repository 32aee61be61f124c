/**
 * Whether the database can take writes. A full disk or an I/O error is an outage, not a bug: the
 * request that needed the write gets a 503 and /readyz says not ready, until writes succeed again
 * (no restart needed: SQLite retries the file on the next write). Each connection keeps the
 * record of its last failure (db/client.ts `Connection`).
 */
/** SQLite's result codes that mean "the storage failed", as opposed to a bug in a statement. */
const STORAGE_CODES = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|NOMEM|CORRUPT|NOTADB|PROTOCOL)/;

/** The SQLite code of a storage failure anywhere in `error`'s cause chain, else undefined. */
export function storageFailureCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && STORAGE_CODES.test(code)) return code;
  }
  return undefined;
}
