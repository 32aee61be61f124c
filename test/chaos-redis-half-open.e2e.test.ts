/**
 * Chaos: a half-open Redis connection. The service's processes (one API, two workers) reach Redis
 * through a TCP proxy; mid-run the proxy makes every open connection silent (bytes dropped both
 * ways, no FIN, no RST) while new connections work, as a lost NAT entry or a moved L4 balancer
 * does. The workers must notice the silence within seconds, reconnect and carry every order on;
 * `/readyz` must say not ready while their connection is dead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from './support/deployment.ts';
import { ADMIN_TOKEN, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlNumber } from './support/store.ts';
import type { TcpProxy } from './support/tcp-proxy.ts';

const STOCK = { 'SKU-A': 200 };
/** The silence after which a connection counts as dead (REDIS_SOCKET_TIMEOUT_MS). */
const SOCKET_TIMEOUT_MS = 3_000;

let deployment: Deployment;
let proxy: TcpProxy;
const workers: ServiceProcess[] = [];
let placed = 0;

beforeAll(async () => {
  // The services reach Redis through the proxy; the test's own view of the queues goes straight
  // to Redis, past it.
  deployment = await startDeployment({
    name: 'half-open',
    queuePrefix: 'halfopen',
    proxy: true,
    env: {
      PAYMENT_LATENCY_MS: '10',
      JOB_BACKOFF_MS: '50',
      RELAY_SWEEP_MS: '200',
      STUCK_AFTER_MS: '5000',
      RECONCILE_INTERVAL_MS: '500',
      REDIS_SOCKET_TIMEOUT_MS: String(SOCKET_TIMEOUT_MS),
    },
  });
  proxy = deployment.proxy!;
  for (let i = 0; i < 2; i++) workers.push(await deployment.startProcess('worker', { METRICS_PORT: '0' }));
  for (const [sku, stock] of Object.entries(STOCK))
    expect(await putProductOver(deployment.base, sku, stock, ADMIN_TOKEN, 700)).toBe(201);
}, 60_000);

afterAll(() => deployment?.stop());

async function placeOrders(from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const { status } = await placeOrderOver(
      deployment.base,
      orderBody(i % 5 === 4 ? 'tok_chargeDeclined' : 'tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_${i}`),
      {
        'idempotency-key': `half-open-${i}`,
      },
    );
    expect(status).toBe(201);
    placed++;
  }
}

async function readiness(worker: ServiceProcess): Promise<{ status: number; body: { checks?: Record<string, string> } }> {
  const res = await fetch(`http://127.0.0.1:${worker.metricsPort}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, string> } };
}

describe('chaos: a half-open Redis connection', { timeout: 180_000 }, () => {
  it('workers that hear nothing from Redis reconnect and carry every order on; /readyz says so meanwhile', async () => {
    await placeOrders(0, 20);
    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000 });
    for (const w of workers) expect((await readiness(w)).status).toBe(200);

    const accepted = proxy.accepted;
    expect(proxy.blackhole()).toBeGreaterThan(0);

    // While their connections are silent, the workers are not ready; intake still takes orders.
    for (const w of workers) {
      const { status, body } = await readiness(w);
      expect(status).toBe(503);
      expect(body.checks?.workers).toBe('down');
    }
    await placeOrders(20, 40);

    // Every order placed before and during the fault settles, over new connections.
    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000, owedMessages: true });
    expect(proxy.accepted).toBeGreaterThan(accepted);
    expect(await invariantViolations(deployment.db, { initialStock: STOCK })).toEqual([]);
    expect(await sqlNumber(deployment.db, 'SELECT count(*) AS n FROM orders')).toBe(placed);
    expect(await sqlNumber(deployment.db, `SELECT count(*) AS n FROM orders WHERE status = 'SHIPPED'`)).toBe(48);

    for (const w of workers) {
      // Ready again, and it said why it reconnected.
      const deadline = Date.now() + 30_000;
      while ((await readiness(w)).status !== 200 && Date.now() < deadline) await sleep(200);
      expect((await readiness(w)).body.checks).toMatchObject({ redis: 'ok', workers: 'ok' });
      expect(w.logs.map((l) => l.msg)).toContain('worker connection to Redis went silent; reconnecting');
    }
  });
});
