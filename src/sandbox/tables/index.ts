/**
 * The sandbox's ledgers, per engine, as one object. They live in the service's database, but the
 * service's code never names them: each sandbox part takes the set of the database it was built on
 * (`sandboxTables(db)`), as the service's queries take `db.tables`. The SQLite definitions have the
 * PostgreSQL ones' row types (test/tables.test.ts), so both are typed as PostgreSQL's, as the
 * handle's query builder is (src/db/client.ts).
 */
import type { Db, Tx } from '../../db/client.ts';
import type { Engine } from '../../db/engine.ts';
import * as postgres from './postgres.ts';
import * as sqlite from './sqlite.ts';

export type SandboxTables = typeof postgres;

const BY_ENGINE: Readonly<Record<Engine, SandboxTables>> = {
  postgres,
  sqlite: sqlite as unknown as SandboxTables,
};

/** The ledgers of `engine`. */
export function sandboxTablesFor(engine: Engine): SandboxTables {
  return BY_ENGINE[engine];
}

/** The ledgers in the database `handle` is a handle (or a transaction) on. */
export function sandboxTables(handle: Db | Tx): SandboxTables {
  return sandboxTablesFor(handle.connection.engine);
}
