/**
 * A SQLite file whose write lock another process holds: a write waits for it from the event loop,
 * so the process goes on (timers fire, requests are answered) meanwhile, and the write goes
 * through once the lock is free.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, writeTx } from '../src/db/client.ts';
import { closeDatabase, openDatabase } from '../src/db/open.ts';
import { listProducts, upsertProduct } from '../src/db/stock.ts';
import { testStore } from './support/test-database.ts';

let db: Db | undefined;
let other: Database.Database | undefined;
let dir: string | undefined;

afterEach(async () => {
  other?.close();
  if (db) await closeDatabase(db);
  if (dir) rmSync(dir, { recursive: true, force: true });
  db = other = dir = undefined;
});

describe.runIf(testStore() === 'sqlite')('a SQLite write lock held by another connection', () => {
  it('is waited for without stopping the event loop, and the write goes through once it is free', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-sqlite-lock-'));
    const path = join(dir, 'orders.db');
    db = await openDatabase({ path, poolSize: 1 });
    other = new Database(path);
    other.exec('BEGIN EXCLUSIVE');

    let settled = false;
    const write = upsertProduct(db, { sku: 'SKU-1', name: 'One', priceCents: 100, stock: 5 }, Date.now()).finally(() => {
      settled = true;
    });
    // Timers keep firing while the write waits: the process is not asleep in the driver.
    let ticks = 0;
    while (ticks < 20) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      ticks++;
    }
    expect(settled).toBe(false);

    other.exec('COMMIT');
    await write;
    expect((await listProducts(db)).map((p) => p.sku)).toEqual(['SKU-1']);
  });

  it('a write that cannot get the lock at all fails as a storage outage, not a crash', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-sqlite-lock-'));
    const path = join(dir, 'orders.db');
    db = await openDatabase({ path, poolSize: 1 });
    other = new Database(path);
    other.exec('BEGIN EXCLUSIVE');
    const store = db;
    // Held past the wait: the caller sees SQLITE_BUSY, which the service answers with 503.
    const outcome = writeTx(store, async () => 'written').catch((error: { code?: string }) => error.code);
    await expect(outcome).resolves.toBe('SQLITE_BUSY');
  }, 30_000);
});
