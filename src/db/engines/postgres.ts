/**
 * The PostgreSQL engine, for deployments over several hosts: a node-postgres pool
 * (DATABASE_POOL_SIZE connections per process), migrations under an advisory lock, and write
 * transactions at REPEATABLE READ isolation, run again when they lose to a concurrent one.
 *
 * Why REPEATABLE READ: every write transaction reads an order and then writes on what it read, as
 * on SQLite, where writes are serial. Each transaction works on one snapshot, and every decision it
 * takes on an order writes that order's row: of two transactions that both read an order as PAID
 * and both move it, the second to update the row fails with 40001 ("concurrent update"), runs
 * again on a new snapshot and finds it moved. What a decision reads about anything else is either
 * append-only (the timeline) or guarded by a unique constraint (an idempotency key, a message
 * sent, a ledger's key): a concurrent first insert of the same key fails the later one with 23505,
 * and it too runs again, to find the row there. So the write skew that REPEATABLE READ allows
 * cannot happen here, and the level costs none of SERIALIZABLE's false conflicts, which fail
 * transactions that merely insert into the same index pages (measured: docs/benchmarks.md).
 *
 * Four kinds of transaction run at READ COMMITTED instead (TxOptions), each for a reason of its
 * own: the reconciler's re-drive, which decides on an order but writes only to the outbox, so it
 * locks the order and reads committed rows (src/db/reconcile.ts); those that move stock, which lock
 * their order's row first and update a product's row by a conditional or relative update that
 * READ COMMITTED checks again on the row as committed (at REPEATABLE READ, workers on one popular
 * product would fail on its row in turn); placement, which reads only the catalog and a key its
 * primary key guards; and the relay's sweep, which waits on Redis while it holds its rows.
 *
 * Failures leave this module typed (db/errors.ts, read by engines/driver-failures.ts): the runner
 * raises them for write transactions, after its retries; the pool's handle for reads and single
 * statements (writeOne), which run outside any transaction.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Connection, txParts, type Db, type RawQuery, type Tx, type TxOptions, type TxRunner } from '../client.ts';
import { postgresFailure, raiseTypedErrors, typedStoreError } from './driver-failures.ts';

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../drizzle/postgres');

/** Any one number, the same in every process of the deployment: the lock migrations run under. */
const MIGRATION_LOCK = 0x6f726472; // "ordr"

/** How long a process waits for a connection before the request counts as an outage. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * How long a statement may go unanswered before it counts as an outage. A frozen server keeps its
 * connections open and answers nothing: without this bound a request would wait for it forever.
 * Every statement of the service takes milliseconds; a lock wait of seconds is already trouble.
 */
const QUERY_TIMEOUT_MS = 3_000;

/**
 * The server's own bounds on a statement, shorter than QUERY_TIMEOUT_MS so that the server gives
 * up first, answers why (57014, 55P03: the caller comes back later) and keeps the connection
 * usable. Were the client the first to give up, it would drop its connection and the pool would
 * open another while the server's backend went on waiting on the lock: one row held for a minute
 * by another session took a process with a pool of 10 to 90 server connections. With these, a
 * process never holds more backends than DATABASE_POOL_SIZE, however long a lock is held.
 */
const STATEMENT_TIMEOUT_MS = 2_500;
const LOCK_TIMEOUT_MS = 1_500;

/**
 * How often a backend running a statement checks that its client is still there (PostgreSQL 14+,
 * on Linux): one whose client gave up (a frozen client, a client-side timeout on a frozen network)
 * ends its statement within this long instead of at the statement timeout.
 */
const CLIENT_CONNECTION_CHECK_MS = 1_000;

/**
 * The server ends a session that sits inside a transaction this long without a statement. Our
 * transactions do no network work but the relay's short enqueue, so such a session belongs to a
 * process that is gone or cut off (a host lost power, a partition): without the limit, the rows it
 * locked (a product's stock) stay locked until the server notices, after TCP's keepalive of hours,
 * and every other process waits on them.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 5_000;

/**
 * A transaction that keeps failing on serialization gives up after this many runs. Dozens of
 * transactions at once on one product's row (its stock) collide often: the runs and the backoff
 * must outlast such a burst, or a request or a job fails for contention alone.
 */
const MAX_ATTEMPTS = 40;

/** The longest wait between two runs of a transaction that collided. */
const MAX_BACKOFF_MS = 250;

export interface PostgresOptions {
  poolSize: number;
  /** Told of a connection error the pool saw while the connection sat idle. */
  onIdleError?: (error: Error) => void;
}

// int8 (counts, ids, ms timestamps) and numeric (sums) come back as numbers, as SQLite gives
// them: every such value in this schema is an integer well below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

/** Opens a pool on `url`, checks the server answers, and applies pending migrations. */
export async function openPostgres(url: string, options: PostgresOptions): Promise<Db> {
  const settings = {
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    application_name: 'order-service',
  };
  const pool = new pg.Pool({
    ...settings,
    max: options.poolSize,
    query_timeout: QUERY_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    lock_timeout: LOCK_TIMEOUT_MS,
    options: `-c client_connection_check_interval=${CLIENT_CONNECTION_CHECK_MS}`,
  });
  // A connection that breaks while idle is dropped by the pool; without a listener the error
  // would end the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  // The pool listens for errors only on the connections it holds idle. One lent out (to a
  // transaction, between two statements) that hears the server go away (a crash, a shutdown:
  // 57P01) would emit an error no one listens for, and that ends the process. The statement that
  // follows fails as an outage, and the pool drops the broken connection when it comes back.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = drizzle(pool);
  // Reads, and single statements on the pool (writeOne), fail as the store's typed errors.
  raiseTypedErrors(db, postgresFailure);
  try {
    // Migrations may wait on another process's lock and may take long: their own connection, no statement timeout.
    await migrateLocked(new pg.Client(settings));
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const runner = new PostgresTxRunner(pool, () => connection);
  const connection = new Connection('postgres', runner);
  return Object.assign(db, { connection, tables: connection.tables, statementCache: new Map() }) as unknown as Db;
}

/**
 * Applies pending migrations on one connection holding an advisory lock, so that processes that
 * start at once apply them one after another (the later ones find nothing left to do).
 */
async function migrateLocked(client: pg.Client): Promise<void> {
  client.on('error', () => {}); // the statement under way fails with it
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      // The migrator's notices ("schema already exists, skipping") are not news.
      await client.query('SET client_min_messages = warning');
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs write transactions on a pooled connection, again when they lose to a concurrent one. */
class PostgresTxRunner implements TxRunner {
  /**
   * A drizzle handle and the compiled statements of each pooled client, made once: transactions
   * reuse their client's. A statement compiled in a transaction runs on that transaction's client
   * (its session), so the cache belongs to the client, not to one transaction: building a query's
   * SQL costs more than running it.
   */
  private readonly handles = new WeakMap<
    pg.PoolClient,
    { db: NodePgDatabase; statements: Map<(db: Db) => unknown, unknown>; rawQuery: RawQuery }
  >();

  constructor(
    private readonly pool: pg.Pool,
    private readonly connection: () => Connection,
  ) {}

  /**
   * Runs `fn` until it commits, again while it loses to a concurrent transaction (a serialization
   * failure, a deadlock, a racing insert of the same key: DriverFailure `conflict`). Lost every
   * run, it fails as ContentionError (but a key inserted twice by the transaction itself, which
   * fails every run with 23505, fails as it is: a bug); a storage failure fails as
   * StorageUnavailableError.
   */
  async run<T>(fn: (tx: Tx) => Promise<T>, hooks: (() => void)[], options: TxOptions): Promise<T> {
    const isolationLevel = options.isolation ?? 'repeatable read';
    for (let attempt = 1; ; attempt++) {
      hooks.length = 0;
      try {
        return await this.once(fn, hooks, isolationLevel);
      } catch (error) {
        const failure = postgresFailure(error);
        if (failure?.kind !== 'conflict') throw typedStoreError(error, postgresFailure);
        if (attempt >= MAX_ATTEMPTS) throw typedStoreError(error, postgresFailure);
        this.connection().transactionRetries++;
        // Jittered backoff, so that the transactions that collided do not collide again.
        await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt));
      }
    }
  }

  /**
   * One run of a transaction on a client of its own. A client that failed as a connection fails (a
   * statement unanswered past the timeout, a broken socket) is closed, not handed back: its
   * transaction may still be open on the server, and the next user of the client would commit it.
   */
  private async once<T>(
    fn: (tx: Tx) => Promise<T>,
    hooks: (() => void)[],
    isolationLevel: NonNullable<TxOptions['isolation']>,
  ): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const handle = this.handleOf(client);
      return await handle.db.transaction(
        (tx) => fn(Object.assign(tx, txParts(this.connection(), handle.statements, hooks, handle.rawQuery)) as Tx),
        {
          isolationLevel,
        },
      );
    } catch (error) {
      if (postgresFailure(error)?.kind === 'unavailable') broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private handleOf(client: pg.PoolClient) {
    let handle = this.handles.get(client);
    if (!handle) {
      handle = { db: drizzle(client), statements: new Map(), rawQuery: (query) => client.query(query) };
      this.handles.set(client, handle);
    }
    return handle;
  }

  async savepoint<T>(outer: Tx, fn: (tx: Tx) => Promise<T>, hooks: (() => void)[]): Promise<T> {
    return outer.transaction((sp) =>
      fn(Object.assign(sp, txParts(this.connection(), outer.statementCache, hooks, outer.rawQuery)) as Tx),
    );
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
