/**
 * Many orders for one product at once: every reservation and shipment moves the same stock row.
 * Exactly as many orders as there are units ship, the others fail and are refunded, and stock is
 * conserved, whatever the engine runs those moves at (PostgreSQL: READ COMMITTED with the order
 * locked, src/db/orders.ts `STOCK_MOVE_TX`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('one product, many orders at once', () => {
  it('ships exactly as many orders as there are units and fails the rest', async () => {
    h = await Harness.start();
    const harness = h;
    // A second set of workers, as a second worker process would: twice the concurrent moves.
    harness.startWorkers(['payment', 'inventory', 'shipping']);
    await harness.putProduct('SKU-1', 15);
    const answers = await Promise.all(Array.from({ length: 40 }, () => harness.request('POST', '/orders', orderBody())));
    const placed = answers.filter((a) => a.status === 201).map((a) => a.json.id as string);
    // The stock check at placement may already refuse some, once reservations took the units.
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);

    const final = async () => Promise.all(placed.map(async (id) => (await harness.getOrder(id)).status));
    let statuses = await final();
    for (let i = 0; i < 600 && statuses.some((s) => s !== 'SHIPPED' && s !== 'FAILED'); i++) {
      await sleep(100);
      statuses = await final();
    }
    expect(statuses.filter((s) => s === 'SHIPPED')).toHaveLength(Math.min(15, placed.length));
    expect(statuses.filter((s) => s === 'FAILED')).toHaveLength(placed.length - Math.min(15, placed.length));
    await harness.settle();
    const products = (await harness.admin('GET', '/products')).json;
    expect(products.products).toEqual([expect.objectContaining({ sku: 'SKU-1', available: 0, reserved: 0, shipped: 15 })]);
    expect(await invariantViolations(harness.db, { initialStock: { 'SKU-1': 15 } })).toEqual([]);
  });
});
