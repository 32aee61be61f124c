/**
 * A worker SIGKILLed in the middle of refunding: real processes (one API, one worker) on a private
 * Redis, a gateway slow enough that the kill lands while refunds are at the gateway or between its
 * answer and their record. Another worker takes the jobs over once their locks lapse; every refund
 * settles, each refunded once at the gateway under its own id, and the invariants hold.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientHeaders } from '../src/cli/http-client.ts';
import type { Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, sqlNumber, storeEnv, type StoreEnv } from './support/store.ts';

const ORDERS = 4;
let dir: string;
let redis: TestRedis;
let store: StoreEnv;
let env: Record<string, string>;
const processes: ServiceProcess[] = [];
let db: Db;
let watcher: Redis;
let queues: Queue[];
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-chaos-refunds-'));
  redis = await startRedisServer();
  store = await storeEnv(dir);
  env = {
    ...store,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'chaosrefunds',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    PAYMENT_LATENCY_MS: '400', // each refund waits this long at the gateway before it is written
    JOB_BACKOFF_MS: '50',
    JOB_LOCK_MS: '1500',
    RELAY_SWEEP_MS: '100',
    STUCK_AFTER_MS: '3000',
    RECONCILE_INTERVAL_MS: '500',
  };
  const api = await startServiceProcess({ ...env, ROLE: 'api' }, 60_000);
  processes.push(api);
  base = `http://127.0.0.1:${api.port}`;
  db = await openStore(store);
  watcher = new Redis(redis.url, { maxRetriesPerRequest: null });
  watcher.on('error', () => {});
  queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: 'chaosrefunds' }));
  expect(await putProductOver(base, 'SKU-1', 50, ADMIN_TOKEN, 1_000)).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(processes.map((p) => p.kill()));
  await Promise.allSettled(queues?.map((q) => q.close()) ?? []);
  watcher?.disconnect();
  if (db) await closeDatabase(db);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`${what} did not happen in ${timeoutMs} ms`);
}

const refund = (orderId: string, amountCents: number) =>
  fetch(`${base}/orders/${orderId}/refunds`, {
    method: 'POST',
    headers: clientHeaders(API_KEY, { 'content-type': 'application/json' }),
    body: JSON.stringify({ amountCents, reason: 'chaos' }),
  });

it('refunds each refund once at the gateway when the worker refunding it is SIGKILLed', { timeout: 180_000 }, async () => {
  const first = await startServiceProcess({ ...env, ROLE: 'worker' }, 60_000);
  processes.push(first);
  const ids: string[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const { status, id } = await placeOrderOver(base, orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }], `cus_${i}`));
    expect(status).toBe(201);
    ids.push(id!);
  }
  await waitFor(
    'every order shipped',
    async () => (await sqlNumber(db, `SELECT count(*) AS n FROM orders WHERE status = 'SHIPPED'`)) === ORDERS,
  );

  // Two refunds per order: each job refunds them one after the other, 400 ms at the gateway each.
  for (const id of ids) for (const amount of [300, 450]) expect((await refund(id, amount)).status).toBe(201);
  await waitFor('a refund at the gateway', async () => (await sqlNumber(db, 'SELECT count(*) AS n FROM sandbox_refunds')) > 0);
  expect(await first.kill('SIGKILL')).toBeNull();
  const settledBefore = await sqlNumber(db, `SELECT count(*) AS n FROM refunds WHERE status = 'SUCCEEDED'`);
  expect(settledBefore).toBeLessThan(ORDERS * 2);

  processes.push(await startServiceProcess({ ...env, ROLE: 'worker' }, 60_000));
  await waitFor(
    'every refund settled',
    async () => (await sqlNumber(db, `SELECT count(*) AS n FROM refunds WHERE status = 'SUCCEEDED'`)) === ORDERS * 2,
  );
  await waitUntilSettled(db, queues, { timeoutMs: 60_000, owedMessages: true });
  expect(await sqlNumber(db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(ORDERS * 2);
  expect(await sqlNumber(db, `SELECT count(*) AS n FROM orders WHERE payment_status = 'PARTIALLY_REFUNDED'`)).toBe(ORDERS);
  expect(await invariantViolations(db, { initialStock: { 'SKU-1': 50 } })).toEqual([]);
});
