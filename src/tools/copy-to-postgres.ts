/**
 * Copies a SQLite database of the service into an empty PostgreSQL one, for a deployment that
 * moves from one host to several (`orders copy-to-postgres`).
 *
 * It copies the service's tables and the sandbox's ledgers, which live in the same database, so it
 * sits above both db/ and sandbox/ (neither imports the other's tables). It names both engines'
 * definitions directly: it reads with the SQLite tables on its own better-sqlite3 connection and
 * writes with the PostgreSQL tables on a handle opened by `openDatabase`. The SQLite connection
 * holds the file's write lock for the whole copy, so that nothing changes under it; the
 * PostgreSQL side is one transaction, so that a failure leaves the target as empty as it was.
 */
import Database from 'better-sqlite3';
import { count, eq, getTableColumns, getTableName, sql } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { writeTx, type Db, type Tx } from '../db/client.ts';
import { IDENTITY_KEY } from '../db/service-meta.ts';
import * as operationsPostgres from '../db/tables/operations/postgres.ts';
import * as operationsSqlite from '../db/tables/operations/sqlite.ts';
import * as moneyBackPostgres from '../db/tables/money-back/postgres.ts';
import * as moneyBackSqlite from '../db/tables/money-back/sqlite.ts';
import * as servicePostgres from '../db/tables/postgres.ts';
import * as serviceSqlite from '../db/tables/sqlite.ts';
import * as sandboxPostgres from '../sandbox/tables/postgres.ts';
import * as sandboxSqlite from '../sandbox/tables/sqlite.ts';
import * as webhooksPostgres from '../db/tables/webhooks/postgres.ts';
import * as webhooksSqlite from '../db/tables/webhooks/sqlite.ts';

/** One table in both dialects, and the name of its identity column, if it has one. */
interface TablePair {
  source: SQLiteTable;
  target: PgTable;
  identity?: string;
}

/**
 * Every table of both schemas, parents before the rows that reference them (products and orders
 * before order_items; orders before its events, keys and notifications).
 */
export const COPIED_TABLES: readonly TablePair[] = [
  { source: serviceSqlite.products, target: servicePostgres.products },
  { source: serviceSqlite.orders, target: servicePostgres.orders },
  { source: serviceSqlite.orderItems, target: servicePostgres.orderItems },
  { source: serviceSqlite.orderEvents, target: servicePostgres.orderEvents, identity: 'id' },
  { source: serviceSqlite.idempotencyKeys, target: servicePostgres.idempotencyKeys },
  { source: serviceSqlite.sentNotifications, target: servicePostgres.sentNotifications },
  { source: serviceSqlite.outbox, target: servicePostgres.outbox, identity: 'id' },
  { source: serviceSqlite.serviceMeta, target: servicePostgres.serviceMeta },
  { source: sandboxSqlite.sandboxPaymentIntents, target: sandboxPostgres.sandboxPaymentIntents },
  { source: sandboxSqlite.sandboxCharges, target: sandboxPostgres.sandboxCharges },
  { source: sandboxSqlite.sandboxRefunds, target: sandboxPostgres.sandboxRefunds },
  { source: sandboxSqlite.sandboxShipments, target: sandboxPostgres.sandboxShipments },
  { source: sandboxSqlite.sandboxNotifications, target: sandboxPostgres.sandboxNotifications, identity: 'id' },
  { source: operationsSqlite.operatorActions, target: operationsPostgres.operatorActions, identity: 'id' },
  { source: operationsSqlite.failedAttempts, target: operationsPostgres.failedAttempts, identity: 'id' },
  { source: webhooksSqlite.webhookEndpoints, target: webhooksPostgres.webhookEndpoints },
  { source: webhooksSqlite.webhookEvents, target: webhooksPostgres.webhookEvents },
  { source: webhooksSqlite.webhookDeliveries, target: webhooksPostgres.webhookDeliveries },
  { source: webhooksSqlite.webhookAttempts, target: webhooksPostgres.webhookAttempts },
  { source: moneyBackSqlite.refunds, target: moneyBackPostgres.refunds },
  { source: moneyBackSqlite.returns, target: moneyBackPostgres.returns },
  { source: moneyBackSqlite.returnItems, target: moneyBackPostgres.returnItems },
];

/** Rows read from SQLite and inserted into PostgreSQL at a time: what bounds the copy's memory. */
export const COPY_BATCH_ROWS = 500;

/** How long to wait for the SQLite write lock before concluding that something else holds it. */
const LOCK_WAIT_MS = 3_000;

/** Why a copy did not happen; the message is one line for the operator. */
export class CopyRefusedError extends Error {}

/** A table's rows on each side once copied. */
export interface TableCopy {
  table: string;
  sqlite: number;
  postgres: number;
}

/** A SQLite database opened for a copy, its write lock held until `release`. */
export interface LockedSqlite {
  db: BetterSQLite3Database;
  release(): void;
}

/**
 * Opens the SQLite file at `path` and takes its write lock (BEGIN IMMEDIATE), so that a service
 * that was not really stopped cannot change a row while the copy reads. Refuses a file whose
 * tables are not this version's.
 */
export function lockSqlite(path: string): LockedSqlite {
  let client: Database.Database;
  try {
    client = new Database(path, { fileMustExist: true });
  } catch (error) {
    throw new CopyRefusedError(`cannot open the SQLite database at ${path}: ${(error as Error).message}`);
  }
  const release = () => {
    if (client.inTransaction) client.exec('ROLLBACK');
    client.close();
  };
  try {
    client.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
    try {
      client.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw new CopyRefusedError(
        `cannot lock the SQLite database at ${path} (${(error as Error).message}): is the service still running? Stop it first`,
      );
    }
    checkSourceTables(client, path);
  } catch (error) {
    release();
    throw error;
  }
  return { db: drizzle(client), release };
}

/** The file holds exactly the tables this copy knows, or the copy would drop or miss rows. */
function checkSourceTables(client: Database.Database, path: string): void {
  const present = new Set(
    (client.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
      .map((row) => row.name)
      .filter((name) => !name.startsWith('sqlite_') && !name.startsWith('__drizzle')),
  );
  const known = new Set(COPIED_TABLES.map((pair) => getTableName(pair.source)));
  const missing = [...known].filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new CopyRefusedError(
      `the SQLite database at ${path} lacks table${missing.length === 1 ? '' : 's'} ${missing.join(', ')}: start this version of the service on it once, stop it, then copy`,
    );
  }
  const unknown = [...present].filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw new CopyRefusedError(`the SQLite database at ${path} has tables this version does not copy: ${unknown.join(', ')}`);
}

/**
 * Copies every table from `source` into `target` in one PostgreSQL transaction: refuses a target
 * with any row in any copied table, copies in batches in foreign-key order with the ids it had,
 * moves each identity sequence past the largest id, and checks each table's row count on both
 * sides before it commits. Answers the counts, table by table.
 */
export async function copyToPostgres(
  source: BetterSQLite3Database,
  target: Db,
  options: {
    batchRows?: number;
    onTable?: (copy: TableCopy) => void;
    /**
     * The copy's identity in service_meta. Unset, it keeps the source's, and claims the source's
     * queue prefix: only for a copy that replaces its source.
     */
    newIdentity?: string;
  } = {},
): Promise<TableCopy[]> {
  const batchRows = options.batchRows ?? COPY_BATCH_ROWS;
  return writeTx(target, async (tx) => {
    const occupied = [];
    for (const { target: table } of COPIED_TABLES) {
      if ((await tx.select({ one: sql`1` }).from(table).limit(1)).length > 0) occupied.push(getTableName(table));
    }
    if (occupied.length > 0) {
      throw new CopyRefusedError(
        `the target database is not empty (rows in ${occupied.join(', ')}): copy only into an empty one`,
      );
    }
    for (const pair of COPIED_TABLES) await copyTable(source, tx, pair, batchRows);
    if (options.newIdentity) {
      await tx
        .update(servicePostgres.serviceMeta)
        .set({ value: options.newIdentity })
        .where(eq(servicePostgres.serviceMeta.key, IDENTITY_KEY));
    }

    const copies: TableCopy[] = [];
    for (const { source: from, target: to } of COPIED_TABLES) {
      const copy = {
        table: getTableName(to),
        sqlite: source.select({ n: count() }).from(from).get()!.n,
        postgres: (await tx.select({ n: count() }).from(to))[0]!.n,
      };
      copies.push(copy);
      options.onTable?.(copy);
    }
    const differ = copies.filter((c) => c.sqlite !== c.postgres);
    if (differ.length > 0) {
      throw new CopyRefusedError(
        `row counts differ after the copy (${differ.map((c) => `${c.table}: ${c.sqlite} in SQLite, ${c.postgres} in PostgreSQL`).join('; ')}): nothing was written`,
      );
    }
    return copies;
  });
}

/** Copies one table in batches of `batchRows`, in rowid order (a stable key for every table). */
async function copyTable(source: BetterSQLite3Database, tx: Tx, pair: TablePair, batchRows: number): Promise<void> {
  const columns = getTableColumns(pair.source);
  let after = 0;
  for (;;) {
    const batch = source
      .select({ ...columns, copyRowid: sql<number>`rowid` })
      .from(pair.source)
      .where(sql`rowid > ${after}`)
      .orderBy(sql`rowid`)
      .limit(batchRows)
      .all() as Record<string, unknown>[];
    if (batch.length === 0) break;
    after = batch.at(-1)!.copyRowid as number;
    const rows = batch.map(({ copyRowid: _, ...row }) => row);
    // The rows have the target's row type (test/tables.test.ts), identity ids included.
    await tx.insert(pair.target).values(rows as never);
    if (batch.length < batchRows) break;
  }
  if (pair.identity) {
    const name = getTableName(pair.target);
    // The next id the service takes must come after the copied ones.
    await tx.execute(
      sql.raw(
        `SELECT setval(pg_get_serial_sequence('"${name}"', '${pair.identity}'), coalesce(max("${pair.identity}"), 0) + 1, false) FROM "${name}"`,
      ),
    );
  }
}
