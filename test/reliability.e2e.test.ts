/**
 * The guarantees of DESIGN.md under damage done on purpose: jobs delivered twice, a crowd of
 * orders at the last units of stock, and a process killed between its commit and its enqueue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, Harness, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, startServiceProcess } from './support/processes.ts';
import { duplicateJobs } from './support/duplicate-jobs.ts';
import { openStore, sqlNumber, sqlRow, sqlRows, storeEnv } from './support/store.ts';

let h: Harness | undefined;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Everything a duplicate delivery could change, read straight from the database. */
async function snapshot(harness: Harness) {
  const all = (query: string) => sqlRows(harness.db, query);
  return {
    orders: await all('SELECT id, status, payment_status, stock_status, reason, tracking_number FROM orders ORDER BY id'),
    timeline: await all('SELECT order_id, type, from_status, to_status FROM order_events ORDER BY id'),
    products: await all('SELECT sku, available, reserved, shipped FROM products ORDER BY sku'),
    charges: await all('SELECT order_id, amount_cents FROM sandbox_charges ORDER BY order_id'),
    refunds: await all('SELECT order_id, amount_cents FROM sandbox_refunds ORDER BY order_id'),
    shipments: await all('SELECT order_id, tracking_number, status FROM sandbox_shipments ORDER BY order_id'),
    notifications: await all('SELECT order_id, kind FROM sandbox_notifications ORDER BY order_id, kind'),
  };
}

/** A mixed load: shipped, declined, out of stock, and cancelled before payment. */
async function placeMixedLoad(harness: Harness): Promise<void> {
  await harness.putProduct('SKU-1', 6);
  await harness.putProduct('SKU-2', 2);
  const placed = await Promise.all([
    ...Array.from({ length: 6 }, (_, i) =>
      harness.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }], `cus_${i}`)),
    ),
    ...Array.from({ length: 3 }, () => harness.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-2', quantity: 1 }]))),
    harness.placeOrder(orderBody('tok_chargeDeclined')),
    harness.placeOrder(orderBody('tok_flaky', [{ sku: 'SKU-2', quantity: 1 }])),
  ]);
  await harness.request('POST', `/orders/${placed[0]!.id}/cancel`);
}

describe('a job delivered twice changes nothing the second time', () => {
  it('runs a copy of every job while orders flow, and again after they settle', async () => {
    h = await Harness.start({ queues: [] });
    await placeMixedLoad(h);
    const queues = Object.values(h.service.queues);
    const seen = new Set<string>();
    // Copies of the jobs already queued, then of every job as it appears, on two sets of workers
    // so that an original and its copy can run at the same moment.
    await duplicateJobs(queues, '', seen);
    h.startWorkers(['payment', 'payment-deadline', 'inventory', 'shipping', 'notification', 'refund']);
    h.startWorkers(['payment', 'payment-deadline', 'inventory', 'shipping', 'notification', 'refund']);
    let copies = 0;
    for (let quiet = 0; quiet < 5; ) {
      const added = await duplicateJobs(queues, '', seen);
      copies += added;
      quiet = added === 0 ? quiet + 1 : 0;
      await sleep(30);
    }
    await h.settle();
    copies += await duplicateJobs(queues, '', seen);
    await h.settle();
    expect(copies).toBeGreaterThan(20);

    const shipped = (await sqlRows<{ t: string }>(h.db, "SELECT tracking_number AS t FROM orders WHERE status = 'SHIPPED'")).map(
      (r) => r.t,
    );
    for (const t of shipped) expect((await h.deliver(t)).status).toBe(200);
    await h.settle();
    const before = await snapshot(h);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 6, 'SKU-2': 2 } })).toEqual([]);

    // Every job, delivered once more after everything has settled.
    const again = await duplicateJobs(queues, '-late', new Set());
    expect(again).toBeGreaterThan(copies);
    await h.settle();
    expect(await snapshot(h)).toEqual(before);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 6, 'SKU-2': 2 } })).toEqual([]);

    const statuses = (before.orders as { status: string }[]).map((o) => o.status).sort();
    expect(new Set(statuses)).toEqual(new Set(['CANCELLED', 'COMPLETED', 'FAILED']));
  });
});

describe('the last units of stock', () => {
  it('lets exactly 50 of 200 concurrent orders reserve 50 units, and refunds the other 150', async () => {
    // Placement refuses what is already sold; here all 200 are placed while 50 are still there,
    // and the reservation after payment decides the race.
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 50);
    const db = h.db;
    let lowest = Infinity;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        lowest = Math.min(lowest, await sqlNumber(db, "SELECT available FROM products WHERE sku = 'SKU-1'"));
        await sleep(5);
      }
    })();
    try {
      const placed = await Promise.all(
        Array.from({ length: 200 }, (_, i) => h!.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }], `cus_${i}`))),
      );
      expect(placed).toHaveLength(200);
      h.startWorkers(QUEUE_NAMES);
      h.startWorkers(['inventory', 'payment', 'payment-deadline']); // a second consumer, as a second worker process would be
      await h.settle(60_000);
    } finally {
      watching = false;
      await watch;
    }
    const counts = await sqlRows(
      db,
      'SELECT status, reason, payment_status AS payment, count(*) AS n FROM orders GROUP BY 1, 2, 3 ORDER BY 1',
    );
    expect(counts).toEqual([
      { status: 'FAILED', reason: 'OUT_OF_STOCK', payment: 'REFUNDED', n: 150 },
      { status: 'SHIPPED', reason: null, payment: 'CAPTURED', n: 50 },
    ]);
    expect(await sqlRow(db, "SELECT available, reserved, shipped FROM products WHERE sku = 'SKU-1'")).toEqual({
      available: 0,
      reserved: 0,
      shipped: 50,
    });
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(await sqlNumber(db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(150);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 50 } })).toEqual([]);
  });
});

describe('a process killed between its commit and its enqueue', () => {
  it('loses nothing: the relay sweep of the next process dispatches what it committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await storeEnv(dir);
    // The first API process commits orders but cannot enqueue anything: its Redis is not there.
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const api = await startServiceProcess({
      ROLE: 'api',
      PORT: '0',
      ...store,
      REDIS_URL: deadRedis,
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
    });
    cleanups.push(() => api.kill());
    const base = `http://127.0.0.1:${api.port}`;
    expect(await putProductOver(base, 'SKU-1', 10, ADMIN_TOKEN)).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { status, id } = await placeOrderOver(base, orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }], `cus_${i}`));
      expect(status).toBe(201);
      ids.push(id!);
    }
    expect(await api.kill('SIGKILL')).toBeNull();
    const left = await openStore(store);
    const undispatched = await sqlNumber(left, 'SELECT count(*) AS n FROM outbox WHERE dispatched_at IS NULL');
    await closeDatabase(left);
    expect(undispatched).toBe(5);

    // A new process on the same database, with a working Redis, finds and dispatches them.
    h = await Harness.start({ env: { ...store } });
    for (const id of ids) await h.waitForStatus(id, 'SHIPPED');
    await h.settle();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});
