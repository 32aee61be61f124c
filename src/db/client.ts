/**
 * The store: one typed handle (`Db`) over either engine, and the write transaction (`writeTx`,
 * which hands a `Tx`). SQLite (src/db/engines/sqlite.ts) is the embedded default; PostgreSQL
 * (src/db/engines/postgres.ts) is chosen by DATABASE_URL, for deployments over several hosts.
 *
 * Each handle carries the tables of its engine (`db.tables`, `tx.tables`; src/db/tables/index.ts)
 * for its whole life, and queries name the tables of the handle they are given: nothing is bound
 * per process, so one process may hold a SQLite and a PostgreSQL database at once.
 *
 * Business code is written once, against drizzle's PostgreSQL query builders, and always awaits
 * them: it never uses the synchronous calls of better-sqlite3. `Db` is typed as PostgreSQL's on
 * both engines because drizzle gives the two dialects distinct builder types with no common one
 * that keeps a query's row types; the SQLite builder takes the same calls, and its tables have
 * the same row types (test/tables.test.ts), so one typing checks the queries of both. What truly
 * differs per engine is kept to the engine modules and src/db/dialect.ts.
 */
import type { NodePgDatabase, NodePgTransaction } from 'drizzle-orm/node-postgres';
import type { OutboxRow } from './outbox-row.ts';
import { tablesFor, type Tables } from './tables/index.ts';
import { StorageUnavailableError } from './errors.ts';

export type { Engine } from './engine.ts';
import type { Engine } from './engine.ts';

type DrizzleDb = NodePgDatabase;
type DrizzleTx = NodePgTransaction<Record<string, never>, Record<string, never>>;

/** What every handle carries beside drizzle's calls. */
interface StoreParts {
  readonly connection: Connection;
  /** The tables of the handle's engine: queries name these (`db.tables.orders`). */
  readonly tables: Tables;
  /** The compiled statements of this handle's session (see `prepared`). */
  readonly statementCache: Map<(db: Db) => unknown, unknown>;
}

/** A handle on the database, for reads and for opening write transactions. */
export type Db = DrizzleDb & StoreParts;

/**
 * An open write transaction (or savepoint), handed by `writeTx` only. Functions that must run
 * inside a transaction take a `Tx`, so that calling them with a bare handle does not compile;
 * a `Tx` reads like a `Db`.
 */
export type Tx = DrizzleTx &
  StoreParts & {
    /** Runs `hook` once the transaction commits; never if it rolls back. */
    afterCommit(hook: () => void): void;
    /**
     * On PostgreSQL, runs a named statement of the engine's own SQL on the transaction's
     * connection (dialect.ts uses it where one statement does the work of several).
     */
    readonly rawQuery?: RawQuery;
  };

/** A named, parameterised statement run as it is, answering its rows. */
export type RawQuery = (query: { name: string; text: string; values: unknown[] }) => Promise<{ rows: Record<string, unknown>[] }>;

/** How long after a failed write the database still counts as unwritable. */
const RECENT_FAILURE_MS = 5_000;

/**
 * How an engine runs write transactions: `run` runs `fn` in a new one and commits it (hooks
 * gather the after-commit hooks of that run), `savepoint` nests one in an open transaction, and
 * `close` closes the database once the transaction under way is done. Each engine provides one.
 */
export interface TxRunner {
  run<T>(fn: (tx: Tx) => Promise<T>, hooks: (() => void)[], options: TxOptions): Promise<T>;
  savepoint<T>(outer: Tx, fn: (tx: Tx) => Promise<T>, hooks: (() => void)[]): Promise<T>;
  close(): Promise<void>;
}

/**
 * What one opened database owns: its engine and how that engine runs transactions, the outbox
 * rows it committed that its relay has not taken yet, and the last storage failure of a write.
 */
export class Connection {
  /** Outbox rows committed on this connection, not yet taken by its relay (db/outbox.ts). */
  readonly committedOutbox: OutboxRow[] = [];
  /** Write transactions run again after a serialization failure or a deadlock (PostgreSQL only). */
  transactionRetries = 0;
  /** Write transactions committed on this connection (savepoints not counted). */
  writeTransactions = 0;
  private lastFailure: { at: number; code: string } | undefined;
  /** The tables of this connection's engine. */
  readonly tables: Tables;

  constructor(
    readonly engine: Engine,
    readonly runner: TxRunner,
  ) {
    this.tables = tablesFor(engine);
  }

  /**
   * Remembers a failed write when the failure was the storage's (a full disk, an outage), as the
   * engine raised it; contention and the work's own errors say nothing about the storage.
   */
  noteWriteFailure(error: unknown, now = Date.now()): void {
    if (error instanceof StorageUnavailableError) this.lastFailure = { at: now, code: error.code };
  }

  /**
   * A write committed: the storage takes writes again, whatever failed before. (Readiness's own
   * probe does not count: a write that fits in the room the file already has proves little.)
   */
  noteWriteSuccess(): void {
    this.lastFailure = undefined;
  }

  /** The code of a storage failure of a write within the last few seconds, if no write succeeded since. */
  recentWriteFailure(now = Date.now()): string | undefined {
    const failure = this.lastFailure;
    return failure && now - failure.at < RECENT_FAILURE_MS ? failure.code : undefined;
  }
}

/**
 * What `build` compiles, once per session: modules keep their hot statements this way (`build`
 * must be a module-level function, the cache's key). A handle's statements run on its own
 * session, so a PostgreSQL transaction compiles its own (they run on the transaction's client).
 */
export function prepared<T>(handle: Db | Tx, build: (db: Db) => T): T {
  let found = handle.statementCache.get(build) as T | undefined;
  if (found === undefined) {
    found = build(handle as unknown as Db);
    handle.statementCache.set(build, found);
  }
  return found;
}

export interface TxOptions {
  /**
   * PostgreSQL's isolation level: REPEATABLE READ (src/db/engines/postgres.ts says why) unless
   * the transaction locks what it decides on and is better off without serialization failures (on
   * a popular product's stock, or waiting on Redis as the relay's sweep does). SQLite's writes are
   * serial whatever this says.
   */
  isolation?: 'repeatable read' | 'read committed';
  /** Readiness's probe: its success does not clear a recent storage failure. */
  probe?: boolean;
}

/**
 * Runs `fn` in one write transaction and answers what it answered, once it committed. The store's
 * own failures leave it typed (db/errors.ts): StorageUnavailableError, ContentionError. `fn` must
 * do nothing but database work: no network, since on SQLite the process's other writers wait for
 * it, and on PostgreSQL it may run again (see the engine modules for isolation and retries).
 * Given a `Tx`, it opens a savepoint instead, whose after-commit hooks join the transaction's.
 */
export async function writeTx<T>(db: Db | Tx, fn: (tx: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
  const runner = db.connection.runner;
  if ('afterCommit' in db) {
    const hooks: (() => void)[] = [];
    const result = await runner.savepoint(db, fn, hooks);
    for (const hook of hooks) db.afterCommit(hook);
    return result;
  }
  const hooks: (() => void)[] = [];
  const result = await counted(db.connection, () => runner.run(fn, hooks, options), options.probe);
  for (const hook of hooks) hook();
  return result;
}

/**
 * Runs one write statement (`fn` must run exactly one) as a transaction of its own. On PostgreSQL
 * the statement runs on the pool as it is, which the server commits by itself: one round trip,
 * where BEGIN, the statement and COMMIT take three. On SQLite it is a write transaction like any
 * other (the process's writes take their turn). A failure counts as `writeTx`'s do.
 */
export function writeOne<T>(db: Db, fn: (handle: Db | Tx) => Promise<T>): Promise<T> {
  if (db.connection.engine !== 'postgres') return writeTx(db, fn);
  return counted(db.connection, () => fn(db));
}

/**
 * Runs one committed write and keeps the connection's account of it: a storage failure remembered,
 * a commit counted, and (but for readiness's own probe) a recent failure cleared.
 */
async function counted<T>(connection: Connection, write: () => Promise<T>, probe = false): Promise<T> {
  let result: T;
  try {
    result = await write();
  } catch (error) {
    connection.noteWriteFailure(error);
    throw error;
  }
  connection.writeTransactions++;
  if (!probe) connection.noteWriteSuccess();
  return result;
}

/** The parts a transaction handle gets on top of the engine's own transaction object. */
export function txParts(
  connection: Connection,
  statementCache: Map<(db: Db) => unknown, unknown>,
  hooks: (() => void)[],
  rawQuery?: RawQuery,
) {
  return {
    connection,
    tables: connection.tables,
    statementCache,
    rawQuery,
    afterCommit: (hook: () => void) => void hooks.push(hook),
  };
}
