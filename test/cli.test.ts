/**
 * The operator CLI, run as a real child process against a real Redis and database: every
 * command, its --json output and its exit codes.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_CATALOG } from '../src/cli/seed.ts';
import { closeDatabase } from '../src/db/open.ts';
import { placeOrder } from '../src/db/placement.ts';
import { TransientGatewayError, type Carrier } from '../src/domain/ports.ts';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { SandboxCarrier } from '../src/sandbox/carrier.ts';
import { cliEnv, runCli } from './support/cli.ts';
import { ADDRESS, ADMIN_TOKEN, API_KEY, API_KEYS, Harness, OTHER_API_KEY } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { putProductOver, startServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { openStore, sqlNumber, sqlRows, sqlRun, storeEnv } from './support/store.ts';
import { testDatabaseUrl, testStore } from './support/test-database.ts';
import { pendingDeliveries } from './support/webhook-invariants.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

let h: Harness | undefined;
let redis: TestRedis | undefined;
let dir: string | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
  await redis?.stop();
  redis = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const COMMANDS = [
  'failed',
  'requeue',
  'show',
  'returns',
  'webhooks',
  'webhook-attempts',
  'webhook-resend',
  'reconcile',
  'seed',
  'load',
];

describe('usage and exit codes', () => {
  it('has --help for the program and every command, and exits 0', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(command);
    const each = await Promise.all(COMMANDS.map((command) => runCli([command, '--help'])));
    for (const run of each) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: orders \w+/);
    }
    expect(each.filter((run) => run.stdout.includes('--json'))).toHaveLength(COMMANDS.length);
  });

  it('runs as the `orders` bin from any directory', () => {
    const bin = fileURLToPath(new URL('../bin/orders.js', import.meta.url));
    // From the sources: building dist/ is test/build.test.ts's to try.
    const run = spawnSync(process.execPath, [bin, 'show', '--help'], {
      cwd: tmpdir(),
      encoding: 'utf8',
      env: { ...process.env, ORDERS_LAUNCH: 'tsx' },
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: orders show [options] <orderId>');
  });

  it('exits 2 on bad usage, naming what is wrong', async () => {
    const runs = await Promise.all([
      runCli(['frobnicate']),
      runCli(['failed', '--queue', 'nope']),
      runCli(['load', '--count', 'many']),
      runCli(['show']),
      runCli(['requeue']),
      runCli(['requeue', 'some-id', '--all']),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(runs[0]!.stderr).toContain("unknown command 'frobnicate'");
    expect(runs[1]!.stderr).toContain('Allowed choices are payment, payment-deadline, inventory, shipping, notification, refund');
    expect(runs[4]!.stderr).toBe('orders: name a job id, or pass --all to requeue every failed job\n');
  });

  it('exits 1 with one line when the configuration is bad, Redis is away, or the database is missing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-cli-'));
    const deadPort = await freePort();
    const [config, away, missing] = await Promise.all([
      runCli(['failed'], { QUEUE_PREFIX: 'not a prefix' }),
      runCli(['failed'], { REDIS_URL: `redis://127.0.0.1:${deadPort}` }),
      runCli(['show', 'ord_1'], { DATABASE_PATH: join(dir, 'absent.db') }),
    ]);
    expect(config).toMatchObject({ code: 1, stdout: '' });
    expect(config.stderr).toMatch(/^orders: invalid configuration: QUEUE_PREFIX: must be .*\n$/);
    expect(away).toMatchObject({ code: 1, stdout: '' });
    expect(away.stderr).toMatch(new RegExp(`^orders: cannot reach Redis at redis://127.0.0.1:${deadPort}: .*ECONNREFUSED.*\\n$`));
    expect(missing.stderr).toBe(
      `orders: no database at ${join(dir, 'absent.db')}: set DATABASE_PATH or pass --database (or DATABASE_URL for PostgreSQL)\n`,
    );
    expect(missing.code).toBe(1);
  });

  // A PostgreSQL database is never created by the CLI either: an absent one is named, and why.
  it.runIf(testStore() === 'postgres')('exits 1 with one line when the PostgreSQL database does not exist', async () => {
    const url = new URL(await testDatabaseUrl());
    url.pathname = `/absent_${Date.now()}`;
    const missing = await runCli(['show', 'ord_1'], { DATABASE_URL: url.href, DATABASE_PATH: '/nonexistent/orders.db' });
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(
      /^orders: cannot open the PostgreSQL database at postgres:.*: database "absent_\d+" does not exist\n$/,
    );
  });
});

describe('seed', () => {
  it('creates the demo catalog, and re-running sets units for sale back to the demo levels', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orders-cli-'));
    const env = { ...(await storeEnv(dir)) };
    const first = await runCli(['seed', '--json'], env);
    expect(first.code).toBe(0);
    expect(first.json.products).toHaveLength(DEMO_CATALOG.length);
    expect(first.json.products.every((p: { created: boolean }) => p.created)).toBe(true);

    const db = await openStore(env);
    try {
      await sqlRun(db, 'UPDATE products SET available = 3');
    } finally {
      await closeDatabase(db);
    }

    const again = await runCli(['seed'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`0 created, ${DEMO_CATALOG.length} reset`);
    const check = await openStore(env);
    const rows = await sqlRows(check, 'SELECT sku, available FROM products ORDER BY sku');
    await closeDatabase(check);
    expect(rows).toEqual(
      DEMO_CATALOG.map((p) => ({ sku: p.sku, available: p.stock })).sort((a, b) => a.sku.localeCompare(b.sku)),
    );
  });
});

describe('failed, requeue and show', () => {
  it('lists jobs that really failed, requeues one by id and the rest by queue, and shows the order', async () => {
    h = await Harness.start({
      queues: ['payment', 'payment-deadline', 'inventory', 'notification', 'refund'],
      env: { JOB_ATTEMPTS: '2' },
    });
    let carrierUp = false;
    const sandbox = new SandboxCarrier(h.db);
    const carrier: Carrier = {
      createShipment: async (request) => {
        if (!carrierUp) throw new TransientGatewayError('carrier API unavailable');
        return sandbox.createShipment(request);
      },
      cancelShipment: (request) => sandbox.cancelShipment(request),
    };
    h.startWorkers(['shipping'], { carrier });
    await h.putProduct('SKU-1', 5);
    const order = await h.placeOrder();
    // A job with data no processor can read fails at once, without retries.
    const malformed = await h.service.queues.payment.add('OrderPlaced', { orderId: 42 } as never);
    const shipping = h.service.queues.shipping;
    for (let i = 0; i < 300 && ((await shipping.getFailedCount()) === 0 || !(await malformed.isFailed())); i++) await sleep(20);
    const env = cliEnv(h);

    const listed = await runCli(['failed', '--json'], env);
    expect(listed.code).toBe(0);
    expect(listed.json.counts).toEqual({
      payment: 1,
      'payment-deadline': 0,
      inventory: 0,
      shipping: 1,
      notification: 0,
      refund: 0,
      webhook: 0,
    });
    const shippingJob = listed.json.jobs.find((j: { queue: string }) => j.queue === 'shipping');
    expect(shippingJob).toMatchObject({
      id: `${order.id}-InventoryReserved-shipping`,
      orderId: order.id,
      event: 'InventoryReserved',
      reason: 'carrier API unavailable',
      attempts: 2,
    });
    expect(shippingJob.ageMs).toBeGreaterThanOrEqual(0);
    expect(listed.json.jobs.find((j: { queue: string }) => j.queue === 'payment')).toMatchObject({
      id: malformed.id,
      orderId: null,
      attempts: 1,
      reason: expect.stringContaining('malformed job data'),
    });

    const text = await runCli(['failed', '--queue', 'shipping'], env);
    expect(text.stdout).toContain('1 failed job (shipping 1)');
    expect(text.stdout).toMatch(
      new RegExp(`shipping\\s+${shippingJob.id}\\s+${order.id}\\s+2\\s+\\S+\\s+carrier API unavailable`),
    );

    const unknown = await runCli(['requeue', 'no-such-job'], env);
    expect(unknown).toMatchObject({ code: 1, stderr: 'orders: no job no-such-job in any queue\n' });

    // The carrier is back: the operator requeues the shipment, and the order ships.
    carrierUp = true;
    const one = await runCli(['requeue', shippingJob.id, '--json'], env);
    expect(one.code).toBe(0);
    expect(one.json).toEqual({
      requeued: 1,
      byQueue: { shipping: 1 },
      jobs: [{ queue: 'shipping', id: shippingJob.id, orderId: order.id }],
    });
    await h.waitForStatus(order.id, 'SHIPPED');
    const again = await runCli(['requeue', shippingJob.id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^orders: job .* is not failed: completed in shipping\n$/);

    const byQueue = await runCli(['requeue', '--all', '--queue', 'payment'], env);
    expect(byQueue).toMatchObject({ code: 0, stdout: 'requeued 1 failed job (payment 1)\n' });
    // It fails again at once (its data is still bad); --all alone looks in every queue.
    for (let i = 0; i < 200 && !(await malformed.isFailed()); i++) await sleep(20);
    const everywhere = await runCli(['requeue', '--all', '--json'], env);
    expect(everywhere.json).toMatchObject({
      requeued: 1,
      byQueue: { payment: 1, 'payment-deadline': 0, inventory: 0, shipping: 0, notification: 0, refund: 0 },
    });

    await h.settle();
    const shown = await runCli(['show', order.id, '--json'], env);
    expect(shown.code).toBe(0);
    expect(shown.json.order).toEqual(await h.getOrder(order.id));
    expect(shown.json.events).toEqual(await h.events(order.id));
    expect(shown.json.events.map((e: { type: string }) => e.type)).toEqual([
      'OrderPlaced',
      'PaymentRequested',
      'PaymentSucceeded',
      'InventoryReserved',
      'JobFailed',
      'ShipmentCreated',
    ]);
    const shownText = await runCli(['show', order.id], env);
    expect(shownText.stdout).toMatch(/status\s+SHIPPED/);
    expect(shownText.stdout).toMatch(/ShipmentCreated\s+AWAITING_SHIPMENT\s+SHIPPED/);
    const missing = await runCli(['show', 'ord_nope'], env);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'orders: no order ord_nope\n' });
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
  });
});

describe('show, with hostile text in the database', () => {
  it('never writes to the terminal a control or bidi character it did not make', async () => {
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 5);
    // The API refuses such text; a row written before that rule, or by hand, may still hold it.
    const hostile = 'cus_\x1b]0;pwned\x07\x1b[2J\x1b[31mred\u009b1m\u202eexe.txt\x7f';
    const { order } = (await placeOrder(
      h.db,
      { customerId: hostile, items: [{ sku: 'SKU-1', quantity: 1 }], paymentToken: 'tok_visa', shippingAddress: ADDRESS },
      Date.now(),
    )) as { order: { id: string } };
    const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    const text = await runCli(['show', order.id], cliEnv(h));
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(UNSAFE);
    expect(text.stdout).toContain('cus_\\u{1b}]0;pwned\\u{7}\\u{1b}[2J');
    const json = await runCli(['show', order.id, '--json'], cliEnv(h));
    expect(json.stdout).not.toMatch(UNSAFE);
    expect(json.json.order.customerId).toBe(hostile); // escaped on the way out, intact for a script
  });
});

describe('returns', () => {
  it('lists the open returns, oldest first, and none once they are refunded or rejected', async () => {
    h = await Harness.start();
    await h.putProduct('SKU-1', 5);
    const order = await h.placeOrder();
    await h.waitForStatus(order.id, 'SHIPPED');
    const opened = await h.request('POST', `/orders/${order.id}/returns`, {
      items: [{ sku: 'SKU-1', quantity: 1 }],
      reason: 'Too loud',
    });
    expect(opened.status).toBe(201);
    const text = await runCli(['returns'], cliEnv(h));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${opened.json.id}\\s+${order.id}\\s+REQUESTED\\s+1xSKU-1`));
    const json = await runCli(['returns', '--json'], cliEnv(h));
    expect(json.json.returns).toEqual([expect.objectContaining({ id: opened.json.id, status: 'REQUESTED' })]);
    expect((await runCli(['returns', '--limit', 'zero'], cliEnv(h))).code).toBe(2);
    await h.admin('POST', `/returns/${opened.json.id}/reject`);
    expect((await runCli(['returns'], cliEnv(h))).stdout).toBe('No open return.\n');
  });
});

describe('webhooks, webhook-attempts and webhook-resend', () => {
  it('list the endpoints, show a delivery with every attempt, and send one again', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      h = await Harness.start({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_RETRY_BASE_MS: '50' } });
      await h.putProduct('SKU-1', 5);
      const endpoint = await h.admin('POST', '/webhook-endpoints', { url: receiver.url('/erp'), events: ['order.created'] });
      expect(endpoint.status, endpoint.text).toBe(201);
      receiver.answer('/erp', [503, 200]);
      await h.placeOrder();
      for (let waited = 0; (await pendingDeliveries(h.db)) > 0 && waited < 30_000; waited += 50) await sleep(50);

      const listed = await runCli(['webhooks', '--json'], cliEnv(h));
      expect(listed.json.endpoints).toEqual([expect.objectContaining({ id: endpoint.json.id, delivered: 1, pending: 0 })]);
      const [delivery] = (await h.admin('GET', `/webhook-endpoints/${endpoint.json.id}/deliveries`)).json.deliveries;
      const shown = await runCli(['webhook-attempts', delivery.id, '--json'], cliEnv(h));
      expect(shown.code).toBe(0);
      expect(shown.json.delivery).toMatchObject({ id: delivery.id, status: 'DELIVERED', attempts: 2 });
      expect(shown.json.history.map((a: { statusCode: number; outcome: string }) => [a.statusCode, a.outcome])).toEqual([
        [503, 'retry'],
        [200, 'delivered'],
      ]);
      const text = await runCli(['webhook-attempts', delivery.id], cliEnv(h));
      expect(text.stdout).toContain('order.created');
      expect(text.stdout).toMatch(/answered 503[^\n]*retry/);
      expect((await runCli(['webhook-attempts', 'dlv_nothing'], cliEnv(h))).code).toBe(1);

      const resent = await runCli(['webhook-resend', delivery.id, '--json'], cliEnv(h));
      expect(resent.json).toEqual({ resent: 1 });
      const arrived = () => receiver.arrivals.filter((a) => a.path === '/erp');
      for (let waited = 0; arrived().length < 3 && waited < 30_000; waited += 50) await sleep(50);
      expect(arrived().map((a) => [a.status, a.webhookId])).toEqual([
        [503, delivery.eventId],
        [200, delivery.eventId],
        [200, delivery.eventId],
      ]);
    } finally {
      await receiver.stop();
    }
  });
});

describe('reconcile', () => {
  it('re-drives an order whose job was lost with Redis, and dispatches the events itself', async () => {
    redis = await startRedisServer();
    h = await Harness.start({ redisUrl: redis.url, queues: ['payment', 'payment-deadline'] });
    await h.putProduct('SKU-1', 2);
    const order = await h.placeOrder();
    await h.waitForStatus(order.id, 'PAID');
    await h.service.relay.flush();
    const admin = new Redis(redis.url);
    await admin.flushall();
    await admin.quit();
    h.startWorkers(['inventory', 'shipping', 'notification', 'refund']);
    // With the service's relay stopped, only the CLI can move what the reconciler writes.
    await h.service.relay.stop();
    await sleep(250);
    expect((await h.getOrder(order.id)).status).toBe('PAID');

    const run = await runCli(['reconcile', '--stuck-after', '200', '--json'], cliEnv(h));
    expect(run.code).toBe(0);
    expect(run.json).toEqual({
      redriven: [{ orderId: order.id, status: 'PAID', events: ['PaymentSucceeded'] }],
      dispatched: true,
    });
    const undispatched = await sqlNumber(
      h.db,
      "SELECT count(*) AS n FROM outbox WHERE type = 'PaymentSucceeded' AND dispatched_at IS NULL",
    );
    expect(undispatched).toBe(0);
    // The inventory worker got it; what that wrote waits for the service's relay.
    await h.waitForStatus(order.id, 'AWAITING_SHIPMENT');

    h.service.relay.start();
    await h.waitForStatus(order.id, 'SHIPPED');
    await h.settle();
    const quiet = await runCli(['reconcile'], cliEnv(h, { STUCK_AFTER_MS: '60000' }));
    expect(quiet).toMatchObject({ code: 0, stdout: 'nothing to re-drive: no order has been still for longer than 60000 ms\n' });
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 2 } })).toEqual([]);
  });

  it('judges stuck by the running service’s STUCK_AFTER_MS, not its own environment’s', async () => {
    h = await Harness.start({ queues: [], env: { STUCK_AFTER_MS: '123456' } });
    const run = await runCli(['reconcile'], cliEnv(h, { STUCK_AFTER_MS: '60000' }));
    expect(run).toMatchObject({ code: 0, stdout: 'nothing to re-drive: no order has been still for longer than 123456 ms\n' });
    // Told otherwise, it does as told.
    const told = await runCli(['reconcile', '--stuck-after', '5000'], cliEnv(h));
    expect(told.stdout).toBe('nothing to re-drive: no order has been still for longer than 5000 ms\n');
  });

  it('exits 1 and says the events wait in the outbox when Redis is away', async () => {
    h = await Harness.start({ queues: [] });
    const run = await runCli(['reconcile'], cliEnv(h, { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^orders: re-drove 0 orders, but their events wait in the outbox \(cannot reach Redis at .*\)\n$/);
  });
});

describe('load', () => {
  it('says which orders wait on a failed job instead of waiting its whole timeout for them', async () => {
    h = await Harness.start({ env: { JOB_ATTEMPTS: '2' } });
    const args = ['load', '--url', h.base, '--seed', '--count', '4', '--mix', 'visa=1,tok_gatewayDown=1', '--timeout', '600000'];
    const run = await runCli([...args, '--json'], cliEnv(h, { ADMIN_TOKEN, API_KEYS }), 120_000);
    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ placed: 4, settled: 2, parked: 2, unsettled: 0 });
    expect(run.stderr).toBe(
      'orders: 2 orders wait on a failed job and will not move until it is retried: see `orders failed`, then `orders requeue`\n',
    );
  });

  it('seeds the catalog over HTTP, places orders with the token mix and reports them settled', async () => {
    h = await Harness.start();
    const args = ['load', '--url', h.base, '--seed', '--count', '30', '--concurrency', '5', '--mix', 'visa=4,declined=1'];
    // The key from the service's own list, as an operator on the service's host would have it.
    const run = await runCli([...args, '--json'], cliEnv(h, { ADMIN_TOKEN, API_KEYS }));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({
      requested: 30,
      placed: 30,
      refused: 0,
      waited: true,
      settled: 30,
      unsettled: 0,
      byStatus: { SHIPPED: 24, FAILED: 6 },
    });
    expect(run.json.placedPerSecond).toBeGreaterThan(0);
    expect(run.json.postLatencyMs.p99).toBeGreaterThanOrEqual(run.json.postLatencyMs.p50);
    expect(run.json.settleLatencyMs.p50).toBeGreaterThan(0);
    await h.settle();
    const initialStock = Object.fromEntries(DEMO_CATALOG.map((p) => [p.sku, p.stock]));
    expect(await invariantViolations(h.db, { initialStock })).toEqual([]);

    const text = await runCli(
      ['load', '--url', h.base, '--count', '3', '--mix', 'tok_visa', '--no-wait', '--api-key', OTHER_API_KEY],
      cliEnv(h),
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/placed\s+3 of 3\n/);
    expect(text.stdout).toContain('POST /orders');
    expect(text.stdout).not.toContain('settled');
  });

  it('retries orders with the same Idempotency-Key while the service is down for a moment, and places each once', async () => {
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), 'orders-cli-load-'));
    const env = {
      ...(await storeEnv(dir)),
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `load${Date.now()}`,
      PORT: String(await freePort()),
      ADMIN_TOKEN,
    };
    let service = await startServiceProcess(env);
    const base = `http://127.0.0.1:${service.port}`;
    expect(await putProductOver(base, 'SKU-1', 100, ADMIN_TOKEN)).toBe(201);
    const load = runCli(
      ['load', '--url', base, '--count', '40', '--rate', '10', '--sku', 'SKU-1', '--mix', 'visa', '--no-wait', '--json'],
      { API_KEY },
    );
    const store = await openStore(env);
    const orders = () => sqlNumber(store, 'SELECT count(*) AS n FROM orders');
    try {
      // Killed mid-run and started again on the same port: connections refused, some reset.
      for (let i = 0; i < 300 && (await orders()) < 5; i++) await sleep(50);
      await service.kill('SIGKILL');
      await sleep(1_500);
      service = await startServiceProcess(env);
      const run = await load;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.json).toMatchObject({ requested: 40, placed: 40, refused: 0, gaveUp: 0 });
      expect(run.json.retried).toBeGreaterThan(0);
      expect(await orders()).toBe(40);
    } finally {
      await closeDatabase(store);
      await service.kill('SIGKILL');
    }
  });

  it('says which orders were replayed, retried, refused or given up', async () => {
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 100);
    // The first order's answer is lost after the service took it (POST 2 is its retry); the
    // second order is told to come back.
    const flaky = await proxy(h.base, (n) => (n === 1 ? 'lose-answer' : n === 3 ? 'unavailable' : 'forward'));
    const run = await runCli(
      ['load', '--url', flaky.url, '--count', '3', '--concurrency', '1', '--sku', 'SKU-1', '--no-wait', '--json'],
      { API_KEY },
    );
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ placed: 3, replayed: 1, retried: 2, retries: 2, refused: 0, gaveUp: 0 });
    expect((await h.rowCounts()).orders).toBe(3);
    const text = await runCli(['load', '--url', flaky.url, '--count', '1', '--sku', 'SKU-1', '--no-wait'], { API_KEY });
    expect(text.stdout).toMatch(/placed\s+1 of 1\n/);
    await flaky.close();

    const refusing = await runCli(['load', '--url', h.base, '--count', '2', '--sku', 'NOPE', '--no-wait'], { API_KEY });
    expect(refusing.code).toBe(1);
    expect(refusing.stdout).toMatch(/refused\s+2 \(422: 2\)\n/);
    expect(refusing.stdout).not.toMatch(/retried/);
    expect(refusing.stderr).toBe('orders: 2 refused, of 2 orders\n');

    const down = await proxy(h.base, () => 'unavailable');
    const givingUp = await runCli(
      ['load', '--url', down.url, '--count', '2', '--sku', 'SKU-1', '--retry-for', '1500', '--no-wait'],
      { API_KEY },
    );
    expect(givingUp.code).toBe(1);
    expect(givingUp.stdout).toMatch(/gave up\s+2 after retrying \(503: 2\)\n/);
    expect(givingUp.stderr).toBe('orders: 2 given up after retries, of 2 orders\n');
    await down.close();
    expect((await h.rowCounts()).orders).toBe(4);
  });

  it('exits 1 when the service cannot be reached, and 2 when --seed has no admin token', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const down = await runCli(['load', '--url', url, '--count', '1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^orders: cannot reach the service at ${url}: .*\\n$`));
    h = await Harness.start({ queues: [] });
    const noToken = await runCli(['load', '--url', h.base, '--seed', '--count', '1'], cliEnv(h, { API_KEY }));
    expect(noToken).toMatchObject({
      code: 2,
      stderr: '--seed needs the admin token: pass --admin-token or set ADMIN_TOKEN\n'.replace(/^/, 'orders: '),
    });
  });

  it('exits 2 without an API key, and 1 when the service refuses the one it was given', async () => {
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 10);
    const noKey = await runCli(['load', '--url', h.base, '--sku', 'SKU-1', '--count', '1'], cliEnv(h));
    expect(noKey).toMatchObject({ code: 2, stderr: 'orders: load needs an API key: pass --api-key or set API_KEY\n' });
    const wrong = await runCli(
      ['load', '--url', h.base, '--sku', 'SKU-1', '--count', '2', '--no-wait', '--json'],
      cliEnv(h, { API_KEY: 'not-a-key-of-this-service' }),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.json).toMatchObject({ placed: 0, refused: 2, refusals: { 401: 2 } });
    expect((await h.rowCounts()).orders).toBe(0);
  });
});

/**
 * A front for `upstream` that misbehaves on chosen POSTs (numbered from 1): `lose-answer` lets the
 * service take the request and then drops the connection instead of answering; `unavailable`
 * answers 503 with Retry-After: 1 without passing it on.
 */
async function proxy(upstream: string, decide: (post: number) => 'forward' | 'lose-answer' | 'unavailable') {
  let posts = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const what = req.method === 'POST' ? decide(++posts) : 'forward';
    if (what === 'unavailable') {
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/problem+json' }).end('{"status":503}');
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'idempotency-key', 'authorization']) {
      if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
    }
    const answer = await fetch(`${upstream}${req.url}`, {
      method: req.method,
      headers,
      ...(req.method === 'GET' ? {} : { body: Buffer.concat(chunks) }),
    });
    const body = await answer.text();
    if (what === 'lose-answer') {
      req.socket.destroy();
      return;
    }
    const passed: Record<string, string> = {};
    for (const name of ['content-type', 'location', 'idempotent-replayed', 'retry-after']) {
      const value = answer.headers.get(name);
      if (value !== null) passed[name] = value;
    }
    res.writeHead(answer.status, passed).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
