/**
 * The PostgreSQL engine through a crash of the server: a transaction caught between two of its
 * statements fails as an outage (never as an unhandled error that ends the process), and the
 * same handle writes again once the server is back, without a restart.
 *
 * PostgreSQL only: it crashes a server, which SQLite has none of.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.ts';
import { writeTx } from '../src/db/client.ts';
import { closeDatabase, openDatabase } from '../src/db/open.ts';
import { StorageUnavailableError } from '../src/db/errors.ts';
import { startPostgresServer, type TestPostgres } from './support/postgres-server.ts';
import { sqlNumber, sqlRows } from './support/store.ts';
import { testStore } from './support/test-database.ts';

describe.runIf(testStore() === 'postgres')('the PostgreSQL engine through a server crash', () => {
  let server: TestPostgres;
  let db: Db;
  let dir: string;

  beforeAll(async () => {
    server = await startPostgresServer();
    dir = mkdtempSync(join(tmpdir(), 'orders-pg-outage-'));
    db = await openDatabase({ url: await server.createDatabase(), path: join(dir, 'orders.db'), poolSize: 2 });
  });
  afterAll(async () => {
    if (db) await closeDatabase(db);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails a transaction open across the crash as an outage, and writes again after the restart', async () => {
    const failed = writeTx(db, async (tx) => {
      await sqlRows(tx, 'SELECT count(*) AS n FROM orders');
      // The server dies while the transaction holds its connection between two statements.
      await server.kill();
      return sqlRows(tx, 'SELECT count(*) AS n FROM orders');
    });
    const error = await failed.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(StorageUnavailableError);

    await server.restart();
    await expect.poll(() => sqlNumber(db, 'SELECT count(*) AS n FROM orders').catch(() => -1), { timeout: 10_000 }).toBe(0);
  });
});
