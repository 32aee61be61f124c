/**
 * The store under test, whichever engine the run uses (test/support/test-database.ts): the
 * environment that points a service at a fresh one, a handle on it from the test process, and
 * plain SQL against it for the checks that read or set rows directly. SQL written here must be
 * valid on both engines; `?` marks a parameter.
 */
import { join } from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../../src/db/client.ts';
import { writeTx } from '../../src/db/client.ts';
import { openDatabase } from '../../src/db/open.ts';
import { testDatabaseUrl, testStore } from './test-database.ts';

/** What a service needs to find its store: a PostgreSQL URL on that run, else a file in `dir`. */
export interface StoreEnv {
  DATABASE_PATH: string;
  DATABASE_URL?: string;
}

/**
 * A fresh store for a service: on PostgreSQL, a new database on the run's private server (the
 * file path is still given: a managed Redis keeps its files beside it).
 */
export async function storeEnv(dir: string): Promise<StoreEnv> {
  const env: StoreEnv = { DATABASE_PATH: join(dir, 'orders.db') };
  if (testStore() === 'postgres') env.DATABASE_URL = await testDatabaseUrl();
  return env;
}

/** Opens the store `env` names, as a service started with it would (migrating it if new). */
export function openStore(env: StoreEnv): Promise<Db> {
  return openDatabase({ url: env.DATABASE_URL, path: env.DATABASE_PATH, poolSize: 4 });
}

/** Opens a fresh, empty store in `dir`. */
export async function openTestStore(dir: string): Promise<Db> {
  return openStore(await storeEnv(dir));
}

/** `text` with each `?` bound to the next of `params`. */
function statement(text: string, params: readonly unknown[]): SQL {
  const parts = text.split('?');
  if (parts.length - 1 !== params.length) throw new Error(`${parts.length - 1} placeholders for ${params.length} values`);
  const chunks: SQL[] = [sql.raw(parts[0]!)];
  for (const [i, value] of params.entries()) chunks.push(sql`${value}`, sql.raw(parts[i + 1]!));
  return sql.join(chunks);
}

interface SqliteCalls {
  all(query: SQL): unknown[];
  run(query: SQL): unknown;
}

/** The rows `text` answers (a read, or a write with RETURNING inside `writeTx`). */
export async function sqlRows<T = Record<string, unknown>>(db: Db | Tx, text: string, ...params: unknown[]): Promise<T[]> {
  const query = statement(text, params);
  if (db.connection.engine === 'postgres') return (await db.execute(query)).rows as T[];
  return (db as unknown as SqliteCalls).all(query) as T[];
}

/** The first row `text` answers, if any. */
export async function sqlRow<T = Record<string, unknown>>(
  db: Db | Tx,
  text: string,
  ...params: unknown[]
): Promise<T | undefined> {
  return (await sqlRows<T>(db, text, ...params))[0];
}

/** `count(*)`-style single number: the first column of the first row. */
export async function sqlNumber(db: Db | Tx, text: string, ...params: unknown[]): Promise<number> {
  const row = await sqlRow(db, text, ...params);
  return Number(Object.values(row ?? {})[0] ?? 0);
}

/** Runs a write (UPDATE, DELETE, INSERT) in its own transaction. */
export async function sqlRun(db: Db, text: string, ...params: unknown[]): Promise<void> {
  const query = statement(text, params);
  await writeTx(db, async (tx) => {
    if (tx.connection.engine === 'postgres') await tx.execute(query);
    else (tx as unknown as SqliteCalls).run(query);
  });
}

/** The environment that points another process at the store a running service uses (its config's). */
export function storeEnvOf(config: { databasePath: string; databaseUrl: string | undefined }): StoreEnv {
  const env: StoreEnv = { DATABASE_PATH: config.databasePath };
  if (config.databaseUrl) env.DATABASE_URL = config.databaseUrl;
  return env;
}
