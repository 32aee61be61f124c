/**
 * Opens the store the configuration names: PostgreSQL when a URL is given, else the SQLite file.
 * A database that cannot be opened gives one line saying which and why (`StoreOpenError`).
 */
import { safeUrl } from '../lib/safe-url.ts';
import type { Db } from './client.ts';
import { openPostgres } from './engines/postgres.ts';
import { openSqlite } from './engines/sqlite.ts';

export interface StoreTarget {
  /** postgres://…: PostgreSQL. */
  url?: string | undefined;
  /** The SQLite file, when there is no URL. */
  path: string;
  /** PostgreSQL connections this process may hold. */
  poolSize?: number;
  /** Told of a PostgreSQL connection that broke while idle. */
  onIdleError?: (error: Error) => void;
}

/** The database could not be opened: the message is one line fit for an operator. */
export class StoreOpenError extends Error {}

export async function openDatabase(target: StoreTarget): Promise<Db> {
  if (target.url) {
    try {
      return await openPostgres(target.url, { poolSize: target.poolSize ?? 10, onIdleError: target.onIdleError });
    } catch (error) {
      throw new StoreOpenError(`cannot open the PostgreSQL database at ${safeUrl(target.url)}: ${reason(error)}`, {
        cause: error,
      });
    }
  }
  try {
    return openSqlite(target.path);
  } catch (error) {
    throw new StoreOpenError(`cannot open the SQLite database at ${target.path}: ${reason(error)}`, { cause: error });
  }
}

/** Closes the database once the transaction under way (if any) is done. */
export async function closeDatabase(db: Db): Promise<void> {
  await db.connection.runner.close();
}

/** The innermost message: the driver's own words, not a wrapper's. */
function reason(error: unknown): string {
  let e = error;
  while ((e as { cause?: unknown })?.cause) e = (e as { cause: unknown }).cause;
  const message = e instanceof AggregateError && e.errors[0] instanceof Error ? e.errors[0].message : (e as Error)?.message;
  return (message || String(e)).split('\n')[0]!;
}
