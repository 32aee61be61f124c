/**
 * Chaos: a half-open Redis connection. The service's processes (one API, two workers) reach Redis
 * through a TCP proxy; mid-run the proxy makes every open connection silent (bytes dropped both
 * ways, no FIN, no RST) while new connections work, as a lost NAT entry or a moved L4 balancer
 * does. The workers must notice the silence within seconds, reconnect and carry every order on;
 * `/readyz` must say not ready while their connection is dead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, sqlNumber, storeEnv, type StoreEnv } from './support/store.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

const STOCK = { 'SKU-A': 200 };
/** The silence after which a connection counts as dead (REDIS_SOCKET_TIMEOUT_MS). */
const SOCKET_TIMEOUT_MS = 3_000;

let dir: string;
let redis: TestRedis;
let proxy: TcpProxy;
let store: StoreEnv;
let api: ServiceProcess;
const workers: ServiceProcess[] = [];
let db: Db;
let watcher: Redis;
let queues: Queue[];
let base: string;
let placed = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-half-open-'));
  redis = await startRedisServer();
  proxy = await startTcpProxy({ port: redis.port });
  store = await storeEnv(dir);
  const env = {
    ...store,
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    QUEUE_PREFIX: 'halfopen',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    PAYMENT_LATENCY_MS: '10',
    JOB_BACKOFF_MS: '50',
    RELAY_SWEEP_MS: '200',
    STUCK_AFTER_MS: '5000',
    RECONCILE_INTERVAL_MS: '500',
    REDIS_SOCKET_TIMEOUT_MS: String(SOCKET_TIMEOUT_MS),
  };
  api = await startServiceProcess({ ...env, ROLE: 'api' });
  base = `http://127.0.0.1:${api.port}`;
  for (let i = 0; i < 2; i++) workers.push(await startServiceProcess({ ...env, ROLE: 'worker', METRICS_PORT: '0' }));
  db = await openStore(store);
  // The test's own view of the queues goes straight to Redis, past the proxy.
  watcher = new Redis(redis.url, { maxRetriesPerRequest: null });
  queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: 'halfopen' }));
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN, 700)).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([api?.kill(), ...workers.map((w) => w.kill())]);
  await Promise.allSettled(queues?.map((q) => q.close()) ?? []);
  watcher?.disconnect();
  if (db) await closeDatabase(db);
  await proxy?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function placeOrders(from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const { status } = await placeOrderOver(
      base,
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
    await waitUntilSettled(db, queues, { timeoutMs: 60_000 });
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
    await waitUntilSettled(db, queues, { timeoutMs: 60_000, owedMessages: true });
    expect(proxy.accepted).toBeGreaterThan(accepted);
    expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);
    expect(await sqlNumber(db, 'SELECT count(*) AS n FROM orders')).toBe(placed);
    expect(await sqlNumber(db, `SELECT count(*) AS n FROM orders WHERE status = 'SHIPPED'`)).toBe(48);

    for (const w of workers) {
      // Ready again, and it said why it reconnected.
      const deadline = Date.now() + 30_000;
      while ((await readiness(w)).status !== 200 && Date.now() < deadline) await sleep(200);
      expect((await readiness(w)).body.checks).toMatchObject({ redis: 'ok', workers: 'ok' });
      expect(w.logs.map((l) => l.msg)).toContain('worker connection to Redis went silent; reconnecting');
    }
  });
});
