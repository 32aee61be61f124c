/**
 * Faults one at a time: a Redis that loses everything, a Redis that is away, a provider that
 * keeps failing until a job gives up, and the reconciler run many times over.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import { TransientGatewayError, type PaymentGateway } from '../src/domain/ports.ts';
import { SandboxCarrier } from '../src/sandbox/carrier.ts';
import { ADMIN_TOKEN, Harness, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, startServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { openStore, sqlRow, storeEnv } from './support/store.ts';

let h: Harness | undefined;
let redis: TestRedis | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
  await redis?.stop();
  redis = undefined;
});

/** A carrier whose API is down until `up` is set. */
class FlakyCarrier extends SandboxCarrier {
  up = false;
  override async createShipment(request: { orderId: string; address: unknown }) {
    if (!this.up) throw new TransientGatewayError('carrier API unavailable');
    return super.createShipment(request);
  }
}

describe('the reconciler', () => {
  it('re-drives every order whose jobs were lost with a Redis that came back empty', async () => {
    redis = await startRedisServer();
    h = await Harness.start({ redisUrl: redis.url, queues: ['payment', 'payment-deadline'], env: { STUCK_AFTER_MS: '300' } });
    await h.putProduct('SKU-1', 4);
    const orders = await Promise.all([
      h.placeOrder(),
      h.placeOrder(),
      h.placeOrder(orderBody('tok_chargeDeclined')),
      h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 3 }])),
    ]);
    // Payment runs; inventory has no worker, so paid orders wait in its queue. Then Redis loses it all.
    for (const o of orders) await h.waitForOrder(o.id, (x) => x.status === 'PAID' || x.status === 'FAILED');
    // Two units left for sale: the two small orders get one each and the big one is out of stock,
    // in whatever order the re-driven reservations run (several at once on PostgreSQL).
    await h.putProduct('SKU-1', 2);
    await h.service.relay.flush();
    const admin = new Redis(redis.url);
    await admin.flushall();
    await admin.quit();
    h.startWorkers(['inventory', 'shipping', 'notification', 'refund']);
    await sleep(400);
    expect(await h.getOrder(orders[0]!.id)).toMatchObject({ status: 'PAID' });

    // Passes from several processes at once, and again: each stuck order is re-driven once.
    const passes = await Promise.all([h.reconcile(), h.reconcile(), h.reconcile()]);
    const redriven = passes.flat();
    expect(redriven.map((r) => r.orderId).sort()).toEqual([orders[0]!.id, orders[1]!.id, orders[2]!.id, orders[3]!.id].sort());
    expect(redriven.find((r) => r.orderId === orders[2]!.id)?.events).toEqual(['PaymentFailed']); // the lost message
    await h.settle();
    const statuses = await Promise.all(orders.map((o) => h!.getOrder(o.id)));
    expect(statuses.map((o) => o.status)).toEqual(['SHIPPED', 'SHIPPED', 'FAILED', 'FAILED']);
    expect(statuses[3]).toMatchObject({ reason: 'OUT_OF_STOCK', payment: { status: 'REFUNDED' } });
    const kinds = (await h.admin('GET', '/sandbox/notifications')).json.messages.map((m: { kind: string }) => m.kind).sort();
    expect(kinds).toEqual([
      'order_confirmed',
      'order_confirmed',
      'out_of_stock',
      'payment_declined',
      'refunded',
      'shipped',
      'shipped',
    ]);

    // Nothing is stuck any more: further passes do nothing.
    await sleep(350);
    expect(await h.reconcile()).toEqual([]);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 2 } })).toEqual([]);
  });

  it('re-arms a payment deadline lost with Redis, so the order still times out', async () => {
    redis = await startRedisServer();
    h = await Harness.start({ redisUrl: redis.url, env: { STUCK_AFTER_MS: '200', PAYMENT_TIMEOUT_MS: '600' } });
    await h.putProduct('SKU-1', 1);
    const order = await h.placeOrder(orderBody('tok_slow'));
    await h.waitForStatus(order.id, 'PAYMENT_PENDING');
    await h.service.relay.flush();
    const admin = new Redis(redis.url);
    await admin.flushall(); // the delayed PaymentTimeoutDue job is gone
    await admin.quit();
    await sleep(250);
    expect((await h.reconcile()).map((r) => r.events)).toEqual([['OrderPlaced', 'PaymentTimeoutDue']]);
    const failed = await h.waitForStatus(order.id, 'FAILED');
    expect(failed.reason).toBe('PAYMENT_TIMEOUT');
    await h.waitForOrder(order.id, (o) => o.payment.status === 'REFUNDED');
    await h.settle();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 1 } })).toEqual([]);
  });
});

describe('Redis outages', () => {
  it('keeps taking orders while Redis is down and moves them once it is back, empty, without a restart', async () => {
    redis = await startRedisServer();
    h = await Harness.start({ redisUrl: redis.url, env: { STUCK_AFTER_MS: '300' } });
    await h.putProduct('SKU-1', 10);
    const before = await h.placeOrder();
    await h.waitForStatus(before.id, 'SHIPPED');

    await redis.stop();
    const during = await Promise.all(Array.from({ length: 5 }, () => h!.placeOrder()));
    expect(during.every((o) => o.status === 'CREATED')).toBe(true);
    await sleep(300);
    expect((await h.getOrder(during[0]!.id)).status).toBe('CREATED');

    redis = await startRedisServer(redis.port);
    for (const o of during) await h.waitForStatus(o.id, 'SHIPPED', 30_000);
    // A message that was queued when Redis went away is sent by the reconciler's next pass.
    await h.settle();
    await sleep(350);
    await h.reconcile();
    await h.settle();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});

describe('Redis configuration', () => {
  it('warns at start when Redis may evict keys', async () => {
    redis = await startRedisServer(undefined, { evictionPolicy: 'allkeys-lru' });
    const dir = mkdtempSync(join(tmpdir(), 'orders-policy-'));
    const api = await startServiceProcess({
      ROLE: 'api',
      PORT: '0',
      REDIS_URL: redis.url,
      ...(await storeEnv(dir)),
    });
    try {
      for (let i = 0; i < 100 && !api.logs.some((l) => l.policy); i++) await sleep(20);
      expect(api.logs.find((l) => l.policy)).toMatchObject({ level: 40, policy: 'allkeys-lru' });
      expect(api.logs.find((l) => l.policy)?.msg).toMatch(/noeviction/);
    } finally {
      await api.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shutdown', () => {
  it('finishes an active job on SIGTERM; a second signal exits at once and the job is retried elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-shutdown-'));
    const store = await storeEnv(dir);
    const env = {
      ...store,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `shutdown${Date.now()}`,
      PORT: '0',
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      PAYMENT_LATENCY_MS: '1500',
      JOB_LOCK_MS: '1000',
    };
    const db = await openStore(store);
    try {
      // One signal: the charge in flight completes before the process exits.
      const first = await startServiceProcess(env);
      const base = `http://127.0.0.1:${first.port}`;
      expect(await putProductOver(base, 'SKU-1', 5, ADMIN_TOKEN)).toBe(201);
      const place = async (port: number | undefined) => (await placeOrderOver(`http://127.0.0.1:${port}`, orderBody())).id!;
      const read = async (id: string) =>
        (await sqlRow<{ status: string; payment: string }>(
          db,
          'SELECT status, payment_status AS payment FROM orders WHERE id = ?',
          id,
        ))!;
      /** The order has entered PAYMENT_PENDING: its charge is at the gateway for 1.5 s. */
      const chargeInFlight = async (id: string) => {
        for (let i = 0; i < 500 && (await read(id)).status !== 'PAYMENT_PENDING'; i++) await sleep(10);
        expect(await read(id)).toEqual({ status: 'PAYMENT_PENDING', payment: 'PENDING' });
      };

      const drained = await place(first.port);
      await chargeInFlight(drained);
      expect(await first.kill('SIGTERM')).toBe(0);
      expect((await read(drained)).payment).toBe('CAPTURED');

      // Two signals: out at once, the charge interrupted; the next worker picks the job up.
      const second = await startServiceProcess(env);
      const interrupted = await place(second.port);
      await chargeInFlight(interrupted);
      second.child.kill('SIGTERM');
      await sleep(50);
      expect(await second.kill('SIGTERM')).toBe(1);
      expect((await read(interrupted)).payment).toBe('PENDING');

      h = await Harness.start({ env: { ...store, QUEUE_PREFIX: env.QUEUE_PREFIX, JOB_LOCK_MS: '1000' } });
      for (const id of [drained, interrupted]) await h.waitForStatus(id, 'SHIPPED', 20_000);
      await h.settle();
      expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
    } finally {
      await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a job that exhausts its attempts', () => {
  it('lands in the failed set with its reason on the timeline, and resumes when requeued', async () => {
    h = await Harness.start({
      queues: ['payment', 'payment-deadline', 'inventory', 'notification', 'refund'],
      env: { JOB_ATTEMPTS: '3', STUCK_AFTER_MS: '200' },
    });
    const carrier = new FlakyCarrier(h.db);
    h.startWorkers(['shipping'], { carrier });
    await h.putProduct('SKU-1', 1);
    const order = await h.placeOrder();
    await h.waitForStatus(order.id, 'AWAITING_SHIPMENT');

    const shipping = h.service.queues.shipping;
    let failed: Awaited<ReturnType<typeof shipping.getFailed>> = [];
    for (let i = 0; i < 200 && failed.length === 0; i++) {
      failed = await shipping.getFailed();
      await sleep(20);
    }
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attemptsMade: 3, failedReason: 'carrier API unavailable', data: { orderId: order.id } });
    await sleep(50);
    const events = await h.events(order.id);
    expect(events.at(-1)).toMatchObject({
      type: 'JobFailed',
      from: 'AWAITING_SHIPMENT',
      to: 'AWAITING_SHIPMENT',
      data: { queue: 'shipping', event: 'InventoryReserved', attempts: 3, reason: 'carrier API unavailable' },
    });
    expect((await h.getOrder(order.id)).status).toBe('AWAITING_SHIPMENT');

    // The reconciler leaves it to the operator, who retries the failed job.
    await sleep(250);
    expect(await h.reconcile()).toEqual([]);
    carrier.up = true;
    await failed[0]!.retry();
    await h.waitForStatus(order.id, 'SHIPPED');
    await h.settle();
    expect(await shipping.getFailedCount()).toBe(0);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 1 } })).toEqual([]);
  });

  it('fails a job that meets a broken invariant at once, with JobFailed on the timeline, instead of retrying it', async () => {
    h = await Harness.start({ queues: ['payment-deadline', 'inventory', 'shipping', 'notification', 'refund'] });
    // A gateway that answers a live charge with "voided": a state recordPaymentOutcome says cannot happen.
    let charges = 0;
    const gateway: PaymentGateway = {
      charge: async () => {
        charges += 1;
        return { outcome: 'voided' };
      },
      void: async () => ({ outcome: 'voided' }),
      refund: async () => ({ refundId: 'rf_never' }),
    };
    h.startWorkers(['payment'], { gateway });
    await h.putProduct('SKU-1', 1);
    const order = await h.placeOrder();

    const payment = h.service.queues.payment;
    let failed: Awaited<ReturnType<typeof payment.getFailed>> = [];
    for (let i = 0; i < 200 && failed.length === 0; i++) {
      failed = await payment.getFailed();
      await sleep(20);
    }
    expect(failed).toHaveLength(1);
    expect(h.config.jobs.jobAttempts).toBeGreaterThan(1);
    expect(failed[0]).toMatchObject({ attemptsMade: 1, data: { orderId: order.id } });
    expect(failed[0]!.failedReason).toMatch(/the gateway voided a charge still in use/);
    expect(charges).toBe(1);
    let events = await h.events(order.id);
    for (let i = 0; i < 100 && events.at(-1)?.type !== 'JobFailed'; i++) {
      await sleep(20);
      events = await h.events(order.id);
    }
    expect(events.at(-1)).toMatchObject({
      type: 'JobFailed',
      from: 'PAYMENT_PENDING',
      to: 'PAYMENT_PENDING',
      data: {
        queue: 'payment',
        event: 'OrderPlaced',
        attempts: 1,
        reason: expect.stringMatching(/voided a charge still in use/),
      },
    });
    expect((await h.getOrder(order.id)).status).toBe('PAYMENT_PENDING');
  });

  it('fails a job with malformed data at once, without retrying it', async () => {
    h = await Harness.start();
    const job = await h.service.queues.payment.add('OrderPlaced', { orderId: 42 } as never);
    for (let i = 0; i < 200 && !(await job.isFailed()); i++) await sleep(20);
    const reread = await h.service.queues.payment.getJob(job.id!);
    expect(reread).toMatchObject({ attemptsMade: 1 });
    expect(reread!.failedReason).toMatch(/malformed job data/);
  });
});
