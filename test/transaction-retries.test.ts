/**
 * A write transaction that loses a serialization race on PostgreSQL runs again, and the process
 * counts it: `orders_db_transaction_retries_total` on /metrics. Beside it, on both engines, the
 * write transactions the process committed: `orders_db_write_transactions_total`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, writeTx } from '../src/db/client.ts';
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
