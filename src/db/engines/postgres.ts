/**
 * The PostgreSQL engine, for deployments over several hosts: a node-postgres pool
 * (DATABASE_POOL_SIZE connections per process), migrations under an advisory lock, and write
 * transactions at SERIALIZABLE isolation, retried on a serialization failure or a deadlock.
 *
 * Why SERIALIZABLE: every write transaction reads an order (or a key, a ledger row) and then
 * writes on what it read, as on SQLite, where writes are serial. SERIALIZABLE keeps exactly that
 * meaning whatever runs beside it: two workers that both read an order as PAID cannot both move
 * it; one of them fails with 40001, runs again, and finds it moved. The stock reservation is a
 * conditional update and idempotency keys are a unique constraint, so neither needs the level;
 * the level is what keeps every other read-then-write correct without a lock per statement.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Connection, txParts, type Db, type Tx, type TxOptions, type TxRunner } from '../client.ts';
import { errorCode } from '../storage-health.ts';

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../drizzle/postgres');

/** Any one number, the same in every process of the deployment: the lock migrations run under. */
const MIGRATION_LOCK = 0x6f726472; // "ordr"

/** How long a process waits for a connection before the request counts as an outage. */
const CONNECT_TIMEOUT_MS = 5_000;

/** A transaction that keeps failing on serialization gives up after this many runs. */
const MAX_ATTEMPTS = 12;

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
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'order-service',
  });
  // A connection that breaks while idle is dropped by the pool; without a listener the error
  // would end the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  const db = drizzle(pool);
  try {
    await migrateLocked(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const runner = new PostgresTxRunner(db, pool, () => connection);
  const connection = new Connection('postgres', runner);
  return Object.assign(db, { connection, statementCache: new Map() }) as unknown as Db;
}

/**
 * Applies pending migrations on one connection holding an advisory lock, so that processes that
 * start at once apply them one after another (the later ones find nothing left to do).
 */
async function migrateLocked(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
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
    client.release();
  }
}

/** Runs write transactions on a pooled connection, at SERIALIZABLE, again on a serialization failure. */
class PostgresTxRunner implements TxRunner {
  constructor(
    private readonly db: NodePgDatabase,
    private readonly pool: pg.Pool,
    private readonly connection: () => Connection,
  ) {}

  async run<T>(fn: (tx: Tx) => Promise<T>, hooks: (() => void)[], options: TxOptions): Promise<T> {
    const isolationLevel = options.isolation ?? 'serializable';
    for (let attempt = 1; ; attempt++) {
      hooks.length = 0;
      // Statements compiled in a transaction run on its client: each transaction has its own.
      const cache = new Map();
      try {
        return await this.db.transaction((tx) => fn(Object.assign(tx, txParts(this.connection(), cache, hooks)) as Tx), {
          isolationLevel,
        });
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || isolationLevel !== 'serializable' || !isSerializationFailure(error)) throw error;
        this.connection().transactionRetries++;
        // Jittered backoff, so that the transactions that collided do not collide again.
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
  }

  async savepoint<T>(outer: Tx, fn: (tx: Tx) => Promise<T>, hooks: (() => void)[]): Promise<T> {
    return outer.transaction((sp) => fn(Object.assign(sp, txParts(this.connection(), outer.statementCache, hooks)) as Tx));
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/** A serialization failure (40001) or a deadlock (40P01): the transaction may simply run again. */
export function isSerializationFailure(error: unknown): boolean {
  const code = errorCode(error);
  return code === '40001' || code === '40P01';
}
