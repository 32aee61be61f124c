/**
 * `orders copy-to-postgres --to postgres://…`: moves a stopped deployment's SQLite database
 * (DATABASE_PATH, or --database) into an empty PostgreSQL database, every table and every row,
 * checked by counting both sides. Start the service on DATABASE_URL afterwards.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { LockedSqlite } from '../tools/copy-to-postgres.ts';
import type { Db } from '../db/client.ts';
import { safeUrl } from '../lib/safe-url.ts';
import { liveWorkers } from '../queues/live-workers.ts';
import { managedRedisDir } from '../redis-server/managed-redis.ts';
import { liveUsers } from '../redis-server/managed-redis-users.ts';
import { CliError, type Session } from './context.ts';
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
    .option(
      '--replaces-source',
      "the copy takes the source's place: it keeps its identity, and so its queue prefix (default: a new identity)",
    )
    .option('--json', 'print JSON: {from, to, tables: [{table, sqlite, postgres}], rows, identity}')
    .addHelpText(
      'after',
      `
Stop every process of the service first: it refuses while workers are connected
on the source's queue prefix or processes use its managed redis-server, and it
holds the SQLite file's write lock throughout. The target is migrated, then
filled in one transaction: on any failure (a target with rows, a count that
differs) nothing is written. Without --replaces-source the copy gets a new
identity, so that a service started on it cannot take the source's jobs: give
it its own QUEUE_PREFIX. Then start the service with DATABASE_URL=<url>.`,
    )
    .action(
      runWith(async (session, options: { to: string; json?: boolean; replacesSource?: boolean }) => {
        const path = session.config.store.databasePath;
        if (path === ':memory:' || !existsSync(path)) {
          throw new CliError(`no database at ${path}: set DATABASE_PATH or pass --database`);
        }
        await refuseLiveSource(session);
        const identity = options.replacesSource ? undefined : randomUUID();
        // Loaded only when a copy runs: the other commands start without the two engines.
        const { copyToPostgres, CopyRefusedError, lockSqlite } = await import('../tools/copy-to-postgres.ts');
        const { closeDatabase, openDatabase, StoreOpenError } = await import('../db/open.ts');
        let source: LockedSqlite | undefined;
        let target: Db | undefined;
        try {
          source = lockSqlite(path);
          target = await openDatabase({ url: options.to, path, poolSize: 1 });
          const tables = await copyToPostgres(source.db, target, identity ? { newIdentity: identity } : {});
          const rows = tables.reduce((sum, t) => sum + t.postgres, 0);
          const to = safeUrl(options.to);
          if (options.json) return printJson({ from: path, to, tables, rows, identity: identity ? 'new' : 'source' });
          printLines([
            `copied ${rows} rows from ${path} to ${to}; every table's count checked`,
            '',
            ...table(
              ['TABLE', 'SQLITE', 'POSTGRESQL'],
              tables.map((t) => [t.table, t.sqlite, t.postgres]),
            ),
            '',
            identity
              ? `the copy has a new identity: start the service with DATABASE_URL=${to} and a QUEUE_PREFIX of its own`
              : `the copy keeps the source's identity and queue prefix: start the service with DATABASE_URL=${to}`,
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

/**
 * A source deployment with a process alive would go on changing the file after the copy, and a
 * worker started on a copy that carries its identity would take its jobs: refuse while any of its
 * workers are connected on its queue prefix, or any process uses its managed redis-server.
 */
async function refuseLiveSource(session: Session): Promise<void> {
  const users = liveUsers(managedRedisDir(session.config.store));
  if (users.length > 0) {
    throw new CliError(
      `the source deployment is running: ${users.length} process${users.length === 1 ? '' : 'es'} use its managed redis-server (pid ${users.join(', ')}); stop every process of it first`,
    );
  }
  const queues = await session.queues().catch(() => undefined);
  if (!queues) return; // No Redis to ask: the file's write lock is the remaining guard.
  const workers = Object.entries(await liveWorkers(queues));
  if (workers.length > 0) {
    throw new CliError(
      `the source deployment is running: workers are connected on QUEUE_PREFIX=${session.config.jobs.queuePrefix} (${workers.map(([q, n]) => `${q} ${n}`).join(', ')}); stop every process of it first`,
    );
  }
}

function oneLine(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string } };
  return String(e.cause?.message ?? e.message ?? error).split('\n')[0]!;
}
