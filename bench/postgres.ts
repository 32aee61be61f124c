/**
 * The benchmark's own PostgreSQL server (never a shared one): started once per run with the
 * durability a real deployment has (fsync, full_page_writes and synchronous_commit on: a commit
 * waits for its WAL to reach the disk), one fresh database per measurement, and what the server
 * counted for each database (transactions, rollbacks, statements), read once the service stopped.
 */
import pg from 'pg';
import { createDatabase, startPostgresServer, type TestPostgres } from '../test/support/postgres-server.ts';

export interface BenchPostgres {
  server: TestPostgres;
  version: string;
  /** True when pg_stat_statements is loaded and each database counts its statements. */
  statements: boolean;
}

/** Server settings of the benchmark: those of a durable deployment, sized for this run. */
export const DURABLE_SETTINGS = {
  fsync: 'on',
  full_page_writes: 'on',
  synchronous_commit: 'on',
  // PostgreSQL's default; a production server would have more, but the data here is small.
  shared_buffers: '128MB',
} as const;

/** Starts the private server; with `statements`, pg_stat_statements is preloaded (it costs a little). */
export async function startBenchPostgres(statements: boolean): Promise<BenchPostgres> {
  const server = await startPostgresServer({
    settings: {
      ...DURABLE_SETTINGS,
      ...(statements ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } : {}),
    },
  });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    // The view is read from the `postgres` database, for every database of the server.
    if (statements) await client.query('CREATE EXTENSION pg_stat_statements');
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return { server, version: rows[0]!.server_version.split(' ')[0]!, statements };
  } finally {
    await client.end();
  }
}

/** A fresh database for one measurement. */
export async function freshDatabase(pgServer: BenchPostgres, name: string): Promise<string> {
  return createDatabase(pgServer.server.url, name);
}

/** What the server counted for one database over a measurement. */
export interface DatabaseCounts {
  commits: number;
  rollbacks: number;
  /** Statements run (pg_stat_statements), when it is loaded. */
  statements?: number;
  /** The statements that took the most server time, when pg_stat_statements is loaded. */
  top?: { query: string; calls: number; totalMs: number }[];
  /** Every statement with its number of calls, most called first, when pg_stat_statements is loaded. */
  byCalls?: { query: string; calls: number }[];
}

/** Reads the server's counts for `name` (call it once the service stopped: backends report at exit), then drops it. */
export async function countsAndDrop(pgServer: BenchPostgres, name: string): Promise<DatabaseCounts> {
  const client = new pg.Client({ connectionString: pgServer.server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ commits: string; rollbacks: string }>(
      'SELECT xact_commit AS commits, xact_rollback AS rollbacks FROM pg_stat_database WHERE datname = $1',
      [name],
    );
    const counts: DatabaseCounts = { commits: Number(rows[0]?.commits ?? 0), rollbacks: Number(rows[0]?.rollbacks ?? 0) };
    if (pgServer.statements) {
      const { rows: top } = await client.query<{ query: string; calls: string; total: number }>(
        `SELECT query, calls, total_exec_time AS total FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = $1 ORDER BY total_exec_time DESC`,
        [name],
      );
      counts.statements = top.reduce((sum, r) => sum + Number(r.calls), 0);
      counts.top = top.slice(0, 8).map((r) => ({ query: r.query, calls: Number(r.calls), totalMs: r.total }));
      counts.byCalls = top
        .map((r) => ({ query: r.query, calls: Number(r.calls) }))
        .sort((a, b) => b.calls - a.calls)
        .slice(0, 40);
    }
    await client.query(`DROP DATABASE "${name}" WITH (FORCE)`);
    return counts;
  } finally {
    await client.end();
  }
}
