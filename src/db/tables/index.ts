/**
 * Every table of the service, per engine, as one object: the opened database carries the set of
 * its engine (`db.tables`, `tx.tables`), so a query names the tables of the handle it was given.
 * The SQLite definitions have the PostgreSQL ones' row types (test/tables.test.ts); only drizzle's
 * dialect tag differs, so both are typed as PostgreSQL's, as the handle's query builder is.
 */
import type { Engine } from '../engine.ts';
import * as operationsPostgres from './operations/postgres.ts';
import * as operationsSqlite from './operations/sqlite.ts';
import * as moneyBackPostgres from './money-back/postgres.ts';
import * as moneyBackSqlite from './money-back/sqlite.ts';
import * as postgres from './postgres.ts';
import * as sqlite from './sqlite.ts';
import * as webhooksPostgres from './webhooks/postgres.ts';
import * as webhooksSqlite from './webhooks/sqlite.ts';

export type Tables = typeof postgres & typeof operationsPostgres & typeof webhooksPostgres & typeof moneyBackPostgres;

const BY_ENGINE: Readonly<Record<Engine, Tables>> = {
  postgres: { ...postgres, ...operationsPostgres, ...webhooksPostgres, ...moneyBackPostgres },
  sqlite: { ...sqlite, ...operationsSqlite, ...webhooksSqlite, ...moneyBackSqlite } as unknown as Tables,
};

/** The tables of `engine`. */
export function tablesFor(engine: Engine): Tables {
  return BY_ENGINE[engine];
}
