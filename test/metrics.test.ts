/**
 * /metrics in Prometheus text: orders by status, transitions by event, jobs by queue and outcome
 * with their durations, queue depths, outbox lag and HTTP latency by route.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import { placeOrder } from '../src/db/placement.ts';
import { upsertProduct } from '../src/db/stock.ts';
import { ServiceMetrics } from '../src/metrics.ts';
import { Harness, orderBody } from './support/harness.ts';
import { startServiceProcess } from './support/processes.ts';
import { openTestStore, storeEnvOf } from './support/store.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** `name{labels}` → value, for every sample of a Prometheus text exposition. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (match) map.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return map;
}

describe('GET /metrics', () => {
  it('exposes the order, job, queue, outbox and HTTP series after a few orders', async () => {
    h = await Harness.start();
    await h.putProduct('SKU-1', 10);
    const shipped = await h.placeOrder(orderBody('tok_visa'));
    const flaky = await h.placeOrder(orderBody('tok_flaky'));
    const declined = await h.placeOrder(orderBody('tok_chargeDeclined'));
    await h.waitForStatus(shipped.id, 'SHIPPED');
    await h.waitForStatus(flaky.id, 'SHIPPED');
    await h.waitForStatus(declined.id, 'FAILED');
    await h.getOrder(shipped.id);
    await h.settle();

    const res = await h.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const m = samples(res.text);

    expect(m.get('orders_by_status{status="SHIPPED"}')).toBe(2);
    expect(m.get('orders_by_status{status="FAILED"}')).toBe(1);
    expect(m.get('orders_by_status{status="CREATED"}')).toBe(0);

    expect(m.get('orders_transitions_total{event="OrderPlaced"}')).toBe(3);
    expect(m.get('orders_transitions_total{event="PaymentRequested"}')).toBe(3);
    expect(m.get('orders_transitions_total{event="PaymentSucceeded"}')).toBe(2);
    expect(m.get('orders_transitions_total{event="PaymentFailed"}')).toBe(1);
    expect(m.get('orders_transitions_total{event="ShipmentCreated"}')).toBe(2);

    // tok_flaky fails twice at the gateway: two runs that will be retried, then a success.
    expect(m.get('orders_jobs_total{queue="payment",outcome="retried"}')).toBe(2);
    expect(m.get('orders_jobs_total{queue="payment",outcome="completed"}')).toBeGreaterThanOrEqual(3);
    expect(m.get('orders_jobs_total{queue="inventory",outcome="completed"}')).toBe(2);
    expect(m.get('orders_jobs_total{queue="shipping",outcome="completed"}')).toBe(2);
    expect(m.get('orders_job_duration_seconds_count{queue="shipping",outcome="completed"}')).toBe(2);
    expect(m.get('orders_job_duration_seconds_bucket{le="+Inf",queue="shipping",outcome="completed"}')).toBe(2);

    for (const queue of ['payment', 'payment-deadline', 'inventory', 'shipping', 'notification', 'refund']) {
      expect(m.get(`orders_queue_jobs{queue="${queue}",state="waiting"}`)).toBe(0);
      expect(m.get(`orders_queue_jobs{queue="${queue}",state="failed"}`)).toBe(0);
    }
    expect(m.get('orders_queue_jobs{queue="shipping",state="completed"}')).toBe(2);

    expect(m.get('orders_outbox_lag_seconds')).toBe(0);
    expect(m.get('orders_outbox_pending')).toBe(0);

    expect(m.get('orders_http_request_duration_seconds_count{method="POST",route="/orders",status="201"}')).toBe(3);
    expect(m.get('orders_http_request_duration_seconds_count{method="GET",route="/orders/:id",status="200"}')).toBeGreaterThan(0);
    expect(m.get('orders_http_request_duration_seconds_count{method="PUT",route="/admin/products/:sku",status="201"}')).toBe(1);
    expect(m.get('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('keeps the transition count right across scrapes', async () => {
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 10);
    await h.placeOrder();
    const first = samples((await h.request('GET', '/metrics')).text);
    expect(first.get('orders_transitions_total{event="OrderPlaced"}')).toBe(1);
    const placed = await h.placeOrder();
    await h.request('POST', `/orders/${placed.id}/cancel`);
    const second = samples((await h.request('GET', '/metrics')).text);
    expect(second.get('orders_transitions_total{event="OrderPlaced"}')).toBe(2);
    expect(second.get('orders_transitions_total{event="Cancelled"}')).toBe(1);
    expect(second.get('orders_by_status{status="CANCELLED"}')).toBe(1);
  });
});

describe('outbox lag', () => {
  it('is the age of the oldest event the relay has not handed over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-metrics-'));
    const db = await openTestStore(dir);
    try {
      let now = 1_000_000;
      const metrics = new ServiceMetrics({ db, now: () => now });
      await upsertProduct(db, { sku: 'SKU-1', name: 'One', priceCents: 100, stock: 5 }, now);
      await placeOrder(
        db,
        {
          customerId: 'c',
          items: [{ sku: 'SKU-1', quantity: 1 }],
          paymentToken: 'tok_visa',
          shippingAddress: orderBody().shippingAddress,
        },
        now,
      );
      now += 7_500;
      const m = samples(await metrics.registry.metrics());
      expect(m.get('orders_outbox_lag_seconds')).toBe(7.5);
      expect(m.get('orders_outbox_pending')).toBe(1);
      // No queues given: no depth series rather than made-up zeros.
      expect([...m.keys()].some((k) => k.startsWith('orders_queue_jobs'))).toBe(false);
    } finally {
      await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a worker-only process', () => {
  it('serves its own job series, health and readiness on METRICS_PORT, and nothing else', async () => {
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 3);
    const worker = await startServiceProcess({
      ROLE: 'worker',
      METRICS_PORT: '0',
      ...storeEnvOf(h.config.store),
      QUEUE_PREFIX: h.config.jobs.queuePrefix,
      REDIS_URL: h.redisUrl,
    });
    try {
      expect(worker.port).toBeUndefined();
      const base = `http://127.0.0.1:${worker.metricsPort}`;
      const order = await h.placeOrder();
      await h.waitForStatus(order.id, 'SHIPPED');
      const m = samples(await (await fetch(`${base}/metrics`)).text());
      expect(m.get('orders_jobs_total{queue="payment",outcome="completed"}')).toBeGreaterThanOrEqual(1);
      expect(m.get('orders_jobs_total{queue="shipping",outcome="completed"}')).toBeGreaterThanOrEqual(1);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/orders/${order.id}`)).status).toBe(404);
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});
