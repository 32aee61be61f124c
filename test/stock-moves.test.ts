/**
 * Stock moves with the transitions that cause them, on an order of several lines (two SKUs, one of
 * them on two lines): a reservation takes every line or none, a short line fails the order without
 * moving a unit, and a shipment moves each SKU's whole quantity. Conservation holds throughout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTx, type Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { findOrder } from '../src/db/orders.ts';
import { planCharge, recordPaymentOutcome } from '../src/db/payments.ts';
import { placeOrder } from '../src/db/placement.ts';
import { recordShipment } from '../src/db/shipments.ts';
import { listProducts, reserveStock, STOCK_TX, upsertProduct } from '../src/db/stock.ts';
import { openTestStore, sqlRun } from './support/store.ts';

let db: Db;
let dir: string;
const now = 1_800_000_000_000;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-stock-moves-'));
  db = await openTestStore(dir);
  await upsertProduct(db, { sku: 'A', name: 'A', priceCents: 100, stock: 10 }, now);
  await upsertProduct(db, { sku: 'B', name: 'B', priceCents: 200, stock: 10 }, now);
});

afterEach(async () => {
  await closeDatabase(db);
  rmSync(dir, { recursive: true, force: true });
});

/** A paid order for 2 A + 3 B on three lines (A twice). */
async function paidOrder(): Promise<string> {
  const placed = await placeOrder(
    db,
    {
      customerId: 'c1',
      items: [
        { sku: 'B', quantity: 3 },
        { sku: 'A', quantity: 1 },
        { sku: 'A', quantity: 1 },
      ],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'N', line1: 'L', city: 'C', postalCode: 'P', country: 'FR' },
    },
    now,
  );
  if (placed.replayed) throw new Error('replayed');
  const id = placed.order.id;
  await writeTx(db, (tx) => planCharge(tx, id, now + 1, 30_000));
  await writeTx(db, (tx) => recordPaymentOutcome(tx, id, { outcome: 'captured', chargeId: 'ch_1' }, now + 2, 30_000));
  return id;
}

async function counts() {
  return Object.fromEntries((await listProducts(db)).map((p) => [p.sku, [p.available, p.reserved, p.shipped]]));
}

describe('stock moves with their transitions', () => {
  it('reserves every line of an order, summed per SKU, and ships them', async () => {
    const id = await paidOrder();
    expect(await reserveStock(db, id, now + 3)).toBe('reserved');
    expect(await counts()).toEqual({ A: [8, 2, 0], B: [7, 3, 0] });
    expect(await writeTx(db, (tx) => recordShipment(tx, id, 'TRK1', now + 4), STOCK_TX)).toBe('shipped');
    expect(await counts()).toEqual({ A: [8, 0, 2], B: [7, 0, 3] });
    expect((await findOrder(db, id))?.status).toBe('SHIPPED');
  });

  it('fails the order and moves nothing when one SKU is short', async () => {
    const id = await paidOrder();
    // One A left for a line pair asking two: the B line alone would fit.
    await sqlRun(db, "UPDATE products SET available = 1 WHERE sku = 'A'");
    expect(await reserveStock(db, id, now + 3)).toBe('out_of_stock');
    expect(await counts()).toEqual({ A: [1, 0, 0], B: [10, 0, 0] });
    const order = await findOrder(db, id);
    expect(order?.status).toBe('FAILED');
    expect(order?.reason).toBe('OUT_OF_STOCK');
  });

  it('a reservation delivered twice moves the stock once', async () => {
    const id = await paidOrder();
    const results = await Promise.all([reserveStock(db, id, now + 3), reserveStock(db, id, now + 3)]);
    expect(results.toSorted()).toEqual(['reserved', 'skipped']);
    expect(await counts()).toEqual({ A: [8, 2, 0], B: [7, 3, 0] });
  });
});
