/**
 * A write transaction that loses a serialization race on PostgreSQL runs again, and the process
 * counts it: `orders_db_transaction_retries_total` on /metrics; one that loses every run fails as
 * ContentionError. Beside it, on both engines, the write transactions the process committed
 * (`orders_db_write_transactions_total`), and the store's failures leaving the runner typed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, writeTx } from '../src/db/client.ts';
import { ContentionError, StorageUnavailableError } from '../src/db/errors.ts';
import { closeDatabase } from '../src/db/open.ts';
import { upsertProduct } from '../src/db/stock.ts';
import { ServiceMetrics } from '../src/metrics.ts';
import { openTestStore, sqlNumber, sqlRows } from './support/store.ts';
import { testStore } from './support/test-database.ts';

let db: Db | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (db) await closeDatabase(db);
  if (dir) rmSync(dir, { recursive: true, force: true });
  db = undefined;
  dir = undefined;
});

/** A counter's value in the registry's Prometheus text. */
async function counter(metrics: ServiceMetrics, name: string): Promise<number> {
  const text = await metrics.registry.metrics();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

const retries = (metrics: ServiceMetrics) => counter(metrics, 'orders_db_transaction_retries_total');

describe('committed write transactions', () => {
  it('counts each committed write transaction once, not its savepoints nor one that rolled back', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-commits-'));
    db = await openTestStore(dir);
    const store = db;
    const metrics = new ServiceMetrics({ db: store });
    const before = await counter(metrics, 'orders_db_write_transactions_total');
    await upsertProduct(store, { sku: 'SKU-1', name: 'One', priceCents: 100, stock: 10 }, Date.now());
    // A transaction with a savepoint inside it: one commit.
    await writeTx(store, async (tx) => {
      await writeTx(tx, async (sp) => {
        await sqlRows(sp, 'SELECT available FROM products WHERE sku = ?', 'SKU-1');
      });
    });
    await expect(
      writeTx(store, async () => {
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await counter(metrics, 'orders_db_write_transactions_total')) - before).toBe(2);
  });
});

// SQLite runs one write transaction at a time: two cannot overlap, so there is nothing to retry.
describe.runIf(testStore() === 'postgres')('transaction retries', () => {
  it('a transaction that read a row another one changed runs again, and is counted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-retries-'));
    db = await openTestStore(dir);
    const store = db;
    await upsertProduct(store, { sku: 'SKU-1', name: 'One', priceCents: 100, stock: 10 }, Date.now());
    const metrics = new ServiceMetrics({ db: store });
    expect(await retries(metrics)).toBe(0);

    // Both read the stock, then both write on what they read: one must run again.
    let arrived = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((resolve) => {
      bothRead = resolve;
    });
    const takeOne = () =>
      writeTx(store, async (tx) => {
        const [row] = await sqlRows<{ available: number }>(tx, 'SELECT available FROM products WHERE sku = ?', 'SKU-1');
        if (++arrived === 2) bothRead();
        await barrier;
        await tx.execute(`UPDATE products SET available = ${row!.available - 1} WHERE sku = 'SKU-1'`);
      });
    await Promise.all([takeOne(), takeOne()]);

    expect(await sqlNumber(store, 'SELECT available FROM products WHERE sku = ?', 'SKU-1')).toBe(8);
    expect(await retries(metrics)).toBeGreaterThanOrEqual(1);
  });
});

/** A driver's error as drizzle hands it on. */
const driverError = (code: string) =>
  new Error('Failed query: update "products"', { cause: Object.assign(new Error(`driver: ${code}`), { code }) });

describe('the store’s failures, as the runner raises them', () => {
  it('a storage failure inside a transaction fails it as StorageUnavailableError, at once, and readiness hears of it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-typed-'));
    db = await openTestStore(dir);
    const code = testStore() === 'postgres' ? '53100' : 'SQLITE_FULL';
    let runs = 0;
    const failed = await writeTx(db, async () => {
      runs++;
      throw driverError(code);
    }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(StorageUnavailableError);
    expect(failed).toMatchObject({ code, cause: { cause: { code } } });
    expect(runs).toBe(1);
    expect(db.connection.recentWriteFailure()).toBe(code);
  });
});

describe.runIf(testStore() === 'postgres')('transactions that keep losing', () => {
  it('a transaction that loses at every run fails as ContentionError, and leaves readiness alone', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-contention-'));
    db = await openTestStore(dir);
    const store = db;
    let runs = 0;
    const failed = await writeTx(store, async () => {
      runs++;
      throw driverError('40001');
    }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ContentionError);
    expect(failed).toMatchObject({ code: '40001' });
    expect(runs).toBeGreaterThan(1);
    expect(store.connection.recentWriteFailure()).toBeUndefined();
  });

  it('a lock not taken in time fails at once as ContentionError', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-lockwait-'));
    db = await openTestStore(dir);
    let runs = 0;
    const failed = await writeTx(db, async () => {
      runs++;
      throw driverError('55P03');
    }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ContentionError);
    expect(runs).toBe(1);
  });

  it('a key the transaction itself inserts twice fails as it is, a bug, once every run has met it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-dupkey-'));
    db = await openTestStore(dir);
    const duplicate = driverError('23505');
    const failed = await writeTx(db, async () => {
      throw duplicate;
    }).catch((error: unknown) => error);
    expect(failed).toBe(duplicate);
  });
});
