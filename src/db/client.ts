/**
 * Opens the SQLite database, sets the pragmas the service relies on, and applies migrations; the
 * per-connection state (`Connection`) and the write transaction (`writeTx`, which hands a `Tx`).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';
import type { OutboxRow } from './outbox-row.ts';
import { storageFailureCode } from './storage-health.ts';

/** A connection to the database: drizzle's handle, with what the connection owns beside it. */
export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database; readonly connection: Connection };

type DrizzleTx = Parameters<Parameters<BetterSQLite3Database<typeof schema>['transaction']>[0]>[0];

/**
 * An open write transaction (or savepoint), handed by `writeTx` only. Functions that must run
 * inside a transaction take a `Tx`, so that calling them with a bare connection does not compile;
 * a `Tx` reads like a `Db`.
 */
export type Tx = DrizzleTx & {
  $client: Database.Database;
  readonly connection: Connection;
  /** Runs `hook` once the transaction commits; never if it rolls back. */
  afterCommit(hook: () => void): void;
};

/** How long after a failed write the database still counts as unwritable. */
const RECENT_FAILURE_MS = 5_000;

/**
 * What one connection owns: its compiled statements, the hot statements each module prepares on
 * it, the outbox rows it committed and its relay has not taken yet, and the last storage failure
 * of a write on it.
 */
export class Connection {
  /** Outbox rows committed on this connection, not yet taken by its relay (db/outbox.ts). */
  readonly committedOutbox: OutboxRow[] = [];
  private readonly prepared = new Map<(db: Db) => unknown, unknown>();
  private lastFailure: { at: number; code: string } | undefined;

  constructor(private readonly db: Db) {}

  /**
   * What `build` prepares, once per connection: modules keep their own hot statements this way
   * (`build` must be a module-level function, the cache's key).
   */
  statements<T>(build: (db: Db) => T): T {
    let found = this.prepared.get(build) as T | undefined;
    if (found === undefined) {
      found = build(this.db);
      this.prepared.set(build, found);
    }
    return found;
  }

  /** Remembers a failed write when the failure was the storage's (a full disk, an I/O error). */
  noteWriteFailure(error: unknown, now = Date.now()): void {
    const code = storageFailureCode(error);
    if (code) this.lastFailure = { at: now, code };
  }

  /** The code of a storage failure of a write within the last few seconds, if any. */
  recentWriteFailure(now = Date.now()): string | undefined {
    const failure = this.lastFailure;
    return failure && now - failure.at < RECENT_FAILURE_MS ? failure.code : undefined;
  }
}

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
  const handle = drizzle(sqlite, { schema });
  // The one place a handle becomes a Db: the connection it owns is attached here, once.
  const db = handle as Db;
  Object.defineProperty(db, 'connection', { value: new Connection(db), enumerable: false });
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
 * Given a `Tx`, it opens a savepoint instead, whose after-commit hooks join the transaction's.
 */
export function writeTx<T>(db: Db | Tx, fn: (tx: Tx) => T): T {
  const outer = 'afterCommit' in db ? db : undefined;
  const hooks: (() => void)[] = [];
  const run = (handle: DrizzleTx): T =>
    fn(
      Object.assign(handle, {
        $client: db.$client,
        connection: db.connection,
        afterCommit: (hook: () => void) => void hooks.push(hook),
      }),
    );
  try {
    const result = outer ? outer.transaction(run) : db.transaction(run, { behavior: 'immediate' });
    // Committed (or, for a savepoint, released into the outer transaction).
    for (const hook of hooks) outer ? outer.afterCommit(hook) : hook();
    return result;
  } catch (error) {
    if (!outer) db.connection.noteWriteFailure(error);
    throw error;
  }
}

export function closeDatabase(db: Db): void {
  if (db.$client.open) db.$client.close();
}
