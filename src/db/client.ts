/**
 * Opens the SQLite database, sets the pragmas the service relies on, and applies migrations.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  // WAL lets readers run beside the one writer; NORMAL sync is safe against a process crash
  // (the case this service is built for) and loses at most the last commits on power loss.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // Several processes (API, workers) write the same file: wait for the lock rather than fail.
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  const db = drizzle(sqlite, { schema }) as Db;
  migrateWithRetry(db);
  return db;
}

/**
 * Applies pending migrations. When several processes start on one file at once, the loser of the
 * race sees the winner's tables appear under it; it waits, then finds nothing left to apply.
 */
function migrateWithRetry(db: Db): void {
  for (let attempt = 1; ; attempt++) {
    try {
      migrate(db, { migrationsFolder: MIGRATIONS });
      return;
    } catch (error) {
      if (attempt >= 20 || !isMigrationRace(error)) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50 * attempt);
    }
  }
}

function isMigrationRace(error: unknown): boolean {
  const text = String((error as { cause?: unknown })?.cause ?? error);
  return /already exists|SQLITE_BUSY|database is locked/i.test(text);
}

/**
 * Runs `fn` in one write transaction, taking the write lock up front (BEGIN IMMEDIATE) so that two
 * processes never deadlock upgrading read locks. `fn` must not await: no network inside.
 */
export function writeTx<T>(db: Db, fn: (tx: Db) => T): T {
  return db.transaction((tx) => fn(tx as unknown as Db), { behavior: 'immediate' });
}

export function closeDatabase(db: Db): void {
  if (db.$client.open) db.$client.close();
}
