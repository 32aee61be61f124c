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
import { noteWriteFailure } from './storage-health.ts';

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
  cacheStatements(sqlite);
  const db = drizzle(sqlite, { schema }) as Db;
  migrateWithRetry(db);
  return db;
}

/**
 * drizzle asks better-sqlite3 to prepare (compile) every query each time it runs; the service runs
 * the same few dozen statements over and over, so the connection keeps each compiled statement by
 * its SQL text. A statement is used to completion at each call (run, get, all; never an open
 * iterator), so sharing one is safe; its raw mode is reset because drizzle sets it per call.
 */
function cacheStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      if (cache.size < STATEMENT_CACHE_SIZE) cache.set(source, statement);
    } else if (statement.reader) {
      statement.raw(false);
    }
    return statement;
  }) as Database.Database['prepare'];
}

/** Far more than the service's distinct statements; a bound on what ad-hoc SQL could add. */
const STATEMENT_CACHE_SIZE = 1_000;

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
 * Inside an open transaction it opens a savepoint instead.
 */
export function writeTx<T>(db: Db, fn: (tx: Db) => T): T {
  const outer = openTx;
  const hooks: (() => void)[] = [];
  openTx = { connection: outer?.connection ?? db, hooks };
  try {
    const result = outer
      ? db.transaction((tx) => fn(tx as unknown as Db))
      : db.transaction((tx) => fn(tx as unknown as Db), { behavior: 'immediate' });
    // Committed (or, for a savepoint, released into the outer transaction).
    if (outer) outer.hooks.push(...hooks);
    else for (const hook of hooks) hook();
    return result;
  } catch (error) {
    if (!outer) noteWriteFailure(db.$client, error);
    throw error;
  } finally {
    openTx = outer;
  }
}

/** The transaction `writeTx` has open; set only while it runs, and it never awaits. */
let openTx: { connection: Db; hooks: (() => void)[] } | undefined;

/** Runs `hook` once the open transaction commits; never if it rolls back. */
export function afterCommit(hook: () => void): void {
  if (!openTx) throw new Error('afterCommit outside writeTx');
  openTx.hooks.push(hook);
}

/** The connection `db` runs on: itself, or, for a transaction handle, the one `writeTx` opened. */
export function connectionOf(db: Db): Db {
  if ((db as Partial<Db>).$client) return db;
  if (!openTx) throw new Error('a transaction handle used outside writeTx');
  return openTx.connection;
}

export function closeDatabase(db: Db): void {
  if (db.$client.open) db.$client.close();
}
