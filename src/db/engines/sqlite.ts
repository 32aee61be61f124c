/**
 * The SQLite engine: one file, better-sqlite3 (synchronous), the embedded default.
 *
 * A process holds two connections: a writer, on which write transactions run one at a time (an
 * in-process lock queues them, and BEGIN IMMEDIATE takes the file's write lock up front so that
 * two processes never deadlock upgrading read locks), and a read-only reader for everything else,
 * so that a read never sees a transaction of the same process before it commits. SQLite writes
 * are serial, so a transaction is serializable without retries.
 *
 * The file's write lock is waited for mostly asynchronously: better-sqlite3 is synchronous, and its
 * busy_timeout sleeps inside the driver, so another process holding the lock (a long transaction,
 * an operator's BEGIN EXCLUSIVE, a backup) would freeze this whole process, health checks and
 * reads included. Each try of BEGIN IMMEDIATE waits in the driver for at most
 * SHORT_LOCK_WAIT_MS, which covers the usual case (another process of the deployment holding the
 * lock for a fraction of a millisecond) without leaving the driver, and the process sleeps
 * between tries outside it, until WRITE_LOCK_WAIT_MS after the transaction was asked for; then
 * the transaction fails as StorageUnavailableError (503 with Retry-After, a job delayed without
 * spending an attempt). Measured: waiting only outside the driver cost a quarter of the
 * throughput of an API and a worker process (docs/benchmarks.md).
 *
 * A storage failure (a full disk, an I/O error, the lock held too long) leaves this module as
 * StorageUnavailableError (db/errors.ts): from the runner for a write transaction, from the
 * reader's handle for a read (engines/driver-failures.ts). */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { Connection, txParts, type Db, type Tx, type TxRunner } from '../client.ts';
import { raiseTypedErrors, sqliteFailure, typedStoreError } from './driver-failures.ts';

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../drizzle/sqlite');

/** How long a write transaction waits for the file's write lock, from when it was asked for. */
const WRITE_LOCK_WAIT_MS = 5_000;

/** The longest sleep between two tries for the write lock. */
const MAX_LOCK_SLEEP_MS = 50;

/**
 * How long one try waits in the driver (SQLite's busy handler, 1, 2 and 5 ms steps): the longest
 * the event loop stops for another process's lock.
 */
const SHORT_LOCK_WAIT_MS = 10;

/** Opens (creating it if need be) and migrates the database file at `path`. */
export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const writerClient = new Database(path);
  // WAL lets readers run beside the one writer; NORMAL sync is safe against a process crash
  // (the case this service is built for) and loses at most the last commits on power loss.
  writerClient.pragma('journal_mode = WAL');
  writerClient.pragma('synchronous = NORMAL');
  writerClient.pragma('foreign_keys = ON');
  cacheStatements(writerClient);
  const writer = drizzle(writerClient);
  // Several processes starting at once migrate one after another: here, at start, a wait
  // inside the driver blocks nothing that serves.
  writerClient.pragma('busy_timeout = 10000');
  migrateWithRetry(writer);
  // From now on the driver waits for the write lock briefly, the runner for longer (SqliteTxRunner).
  writerClient.pragma(`busy_timeout = ${SHORT_LOCK_WAIT_MS}`);

  // An in-memory database exists only on its one connection.
  const readerClient = path === ':memory:' ? writerClient : new Database(path, { readonly: true });
  if (readerClient !== writerClient) {
    readerClient.pragma('busy_timeout = 10000');
    cacheStatements(readerClient);
  }
  const reader = readerClient === writerClient ? writer : drizzle(readerClient);
  raiseTypedErrors(reader, sqliteFailure);

  const runner = new SqliteTxRunner(writer, writerClient, readerClient, () => connection);
  const connection = new Connection('sqlite', runner);
  // The one place a drizzle handle becomes a Db (the business code's PostgreSQL-typed calls
  // are the same calls on this builder; src/db/client.ts).
  return Object.assign(reader, { connection, tables: connection.tables, statementCache: new Map() }) as unknown as Db;
}

/** Runs write transactions on the writer connection, one at a time. */
class SqliteTxRunner implements TxRunner {
  private tail: Promise<void> = Promise.resolve();
  private depth = 0;
  private readonly statementCache = new Map<(db: Db) => unknown, unknown>();

  constructor(
    private readonly writer: BetterSQLite3Database,
    private readonly client: Database.Database,
    private readonly readerClient: Database.Database,
    private readonly connection: () => Connection,
  ) {}

  async run<T>(fn: (tx: Tx) => Promise<T>, hooks: (() => void)[]): Promise<T> {
    const deadline = Date.now() + WRITE_LOCK_WAIT_MS;
    const release = await this.lock();
    try {
      await this.begin(deadline);
      try {
        const result = await fn(this.handle(hooks));
        this.client.exec('COMMIT');
        return result;
      } catch (error) {
        // A failed COMMIT (a full disk) can leave the transaction open: end it.
        if (this.client.inTransaction) this.client.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      throw typedStoreError(error, sqliteFailure);
    } finally {
      release();
    }
  }

  /**
   * BEGIN IMMEDIATE, tried again after short sleeps while another process holds the write lock,
   * until `deadline`; past it, the SQLITE_BUSY error is thrown (and `run` types it).
   */
  private async begin(deadline: number): Promise<void> {
    for (let pause = 1; ; pause = Math.min(pause * 2, MAX_LOCK_SLEEP_MS)) {
      try {
        this.client.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      }
      await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
    }
  }

  async savepoint<T>(_outer: Tx, fn: (tx: Tx) => Promise<T>, hooks: (() => void)[]): Promise<T> {
    const name = `sp${++this.depth}`;
    this.client.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this.handle(hooks));
      this.client.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      this.client.exec(`ROLLBACK TO ${name}`);
      this.client.exec(`RELEASE ${name}`);
      throw error;
    } finally {
      this.depth--;
    }
  }

  async close(): Promise<void> {
    // Let the transaction under way finish first.
    const release = await this.lock();
    if (this.readerClient.open) this.readerClient.close();
    if (this.client.open) this.client.close();
    release();
  }

  /** A transaction handle: the writer, with the transaction's hooks. */
  private handle(hooks: (() => void)[]): Tx {
    return Object.assign(Object.create(this.writer), txParts(this.connection(), this.statementCache, hooks)) as Tx;
  }

  /** Waits for the transactions queued before this one; answers the release of the lock. */
  private lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((done) => {
      release = done;
    });
    const before = this.tail;
    this.tail = before.then(() => held);
    return before.then(() => release);
  }
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
function migrateWithRetry(db: BetterSQLite3Database): void {
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
