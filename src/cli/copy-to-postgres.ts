/**
 * `orders copy-to-postgres --to postgres://…`: moves a stopped deployment's SQLite database
 * (DATABASE_PATH, or --database) into an empty PostgreSQL database, every table and every row,
 * checked by counting both sides. Start the service on DATABASE_URL afterwards.
 */
import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { copyToPostgres, CopyRefusedError, lockSqlite, type LockedSqlite } from '../db/copy-to-postgres.ts';
import { closeDatabase, openDatabase, StoreOpenError } from '../db/open.ts';
import type { Db } from '../db/client.ts';
import { safeUrl } from '../safe-url.ts';
import { CliError } from './context.ts';
import { printJson, printLines, table } from './output.ts';
import { runWith } from './run.ts';

/** A postgres:// or postgresql:// URL. */
function postgresUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'postgres:' && url?.protocol !== 'postgresql:') {
    throw new InvalidArgumentError('It must be a postgres:// or postgresql:// URL.');
  }
  return value;
}

export function copyToPostgresCommand(program: Command): void {
  program
    .command('copy-to-postgres')
    .description(
      "copy a stopped service's SQLite database into an empty PostgreSQL database, every table, checked by counting rows",
    )
    .requiredOption(
      '--to <url>',
      'the PostgreSQL database to fill (postgres://user:password@host/db); it must be empty',
      postgresUrl,
    )
    .option('--json', 'print JSON: {from, to, tables: [{table, sqlite, postgres}], rows}')
    .addHelpText(
      'after',
      `
Stop every process of the service first: the copy holds the SQLite file's write
lock throughout, and fails if it cannot take it. The target is migrated, then
filled in one transaction: on any failure (a target with rows, a count that
differs) nothing is written. Then start the service with DATABASE_URL=<url>.`,
    )
    .action(
      runWith(async (session, options: { to: string; json?: boolean }) => {
        const path = session.config.databasePath;
        if (path === ':memory:' || !existsSync(path)) {
          throw new CliError(`no database at ${path}: set DATABASE_PATH or pass --database`);
        }
        let source: LockedSqlite | undefined;
        let target: Db | undefined;
        try {
          source = lockSqlite(path);
          target = await openDatabase({ url: options.to, path, poolSize: 1 });
          const tables = await copyToPostgres(source.db, target);
          const rows = tables.reduce((sum, t) => sum + t.postgres, 0);
          const to = safeUrl(options.to);
          if (options.json) return printJson({ from: path, to, tables, rows });
          printLines([
            `copied ${rows} rows from ${path} to ${to}; every table's count checked`,
            '',
            ...table(
              ['TABLE', 'SQLITE', 'POSTGRESQL'],
              tables.map((t) => [t.table, t.sqlite, t.postgres]),
            ),
            '',
            `start the service with DATABASE_URL=${to}`,
          ]);
        } catch (error) {
          if (error instanceof CopyRefusedError || error instanceof StoreOpenError) throw new CliError(error.message);
          // A row PostgreSQL refused (a constraint SQLite does not check): the transaction rolled back.
          throw new CliError(`the copy failed and wrote nothing: ${oneLine(error)}`);
        } finally {
          source?.release();
          if (target) await closeDatabase(target);
        }
      }),
    );
}

function oneLine(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string } };
  return String(e.cause?.message ?? e.message ?? error).split('\n')[0]!;
}
