/**
 * Whether the database can take writes. A full disk or an I/O error is an outage, not a bug: the
 * request that needed the write gets a 503 and /readyz says not ready, until writes succeed again
 * (no restart needed: SQLite retries the file on the next write).
 */
import type Database from 'better-sqlite3';

/** SQLite's result codes that mean "the storage failed", as opposed to a bug in a statement. */
const STORAGE_CODES = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|NOMEM|CORRUPT|NOTADB|PROTOCOL)/;

/** How long after a failed write the database still counts as unwritable. */
const RECENT_MS = 5_000;

/** The SQLite code of a storage failure anywhere in `error`'s cause chain, else undefined. */
export function storageFailureCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && STORAGE_CODES.test(code)) return code;
  }
  return undefined;
}

const lastFailure = new WeakMap<Database.Database, { at: number; code: string }>();

/** Remembers a failed write on `connection` when the failure was the storage's. */
export function noteWriteFailure(connection: Database.Database, error: unknown, now = Date.now()): void {
  const code = storageFailureCode(error);
  if (code) lastFailure.set(connection, { at: now, code });
}

/** The code of a storage failure on `connection` within the last few seconds, if any. */
export function recentWriteFailure(connection: Database.Database, now = Date.now()): string | undefined {
  const failure = lastFailure.get(connection);
  return failure && now - failure.at < RECENT_MS ? failure.code : undefined;
}
