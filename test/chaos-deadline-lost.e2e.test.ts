/**
 * Chaos: a payment deadline lost with Redis. The service runs as real processes (one API, one
 * worker); charges are asked for at a gateway that answers after PAYMENT_TIMEOUT_MS (`tok_slow`),
 * and Redis is then killed and replaced by an empty one, so that the delayed jobs guarding their
 * deadlines are gone. A capture recorded after the deadline is late all the same, from the time
 * the database holds: every such order ends FAILED with PAYMENT_TIMEOUT and its capture refunded
 * once, none ships; orders that pay in time go on as usual.
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
import { openStore, sqlNumber, sqlRows, storeEnv, type StoreEnv } from './support/store.ts';

const STOCK = { 'SKU-A': 100 };
const PAYMENT_TIMEOUT_MS = 3_000;
const SLOW = 20;
const FAST = 10;

let dir: string;
let redis: TestRedis;
let store: StoreEnv;
const processes: ServiceProcess[] = [];
let db: Db;
let watcher: Redis;
let queues: Queue[];
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-deadline-'));
  redis = await startRedisServer();
  store = await storeEnv(dir);
  const env = {
    ...store,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'deadline',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    PAYMENT_TIMEOUT_MS: String(PAYMENT_TIMEOUT_MS),
    JOB_BACKOFF_MS: '50',
    JOB_LOCK_MS: '1500',
    RELAY_SWEEP_MS: '100',
    // Longer than the gateway takes to answer: the reconciler does not re-arm the lost deadlines
    // before the late captures come in.
    STUCK_AFTER_MS: '10000',
    RECONCILE_INTERVAL_MS: '500',
  };
  processes.push(await startServiceProcess({ ...env, ROLE: 'api' }));
  base = `http://127.0.0.1:${processes[0]!.port}`;
  processes.push(await startServiceProcess({ ...env, ROLE: 'worker' }));
  db = await openStore(store);
  watcher = new Redis(redis.url, { maxRetriesPerRequest: null });
  watcher.on('error', () => {});
  queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: 'deadline' }));
  for (const queue of queues) queue.on('error', () => {}); // Redis is killed on purpose below
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(processes.map((p) => p.kill()));
  await Promise.allSettled(queues?.map((q) => q.close()) ?? []);
  watcher?.disconnect();
  if (db) await closeDatabase(db);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('chaos: a payment deadline lost with Redis', { timeout: 180_000 }, () => {
  it('a capture recorded after the deadline is late, whether or not the deadline job survived', async () => {
    const slow: string[] = [];
    for (let i = 0; i < SLOW; i++) {
      const { status, id } = await placeOrderOver(base, orderBody('tok_slow', [{ sku: 'SKU-A', quantity: 1 }], `cus_s${i}`));
      expect(status).toBe(201);
      slow.push(id!);
    }
    // Every charge asked for, and its deadline queued in Redis, before Redis loses everything.
    const list = slow.map((id) => `'${id}'`).join(',');
    const deadline = Date.now() + 30_000;
    while (
      (await sqlNumber(db, `SELECT count(*) AS n FROM orders WHERE id IN (${list}) AND status = 'PAYMENT_PENDING'`)) < SLOW
    ) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(50);
    }
    await redis.stop();
    redis = await startRedisServer(redis.port);

    const fast: string[] = [];
    for (let i = 0; i < FAST; i++) {
      const { status, id } = await placeOrderOver(base, orderBody('tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_f${i}`));
      expect(status).toBe(201);
      fast.push(id!);
    }

    await waitUntilSettled(db, queues, { timeoutMs: 90_000, owedMessages: true });
    expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);
    const outcomes = await sqlRows<{ id: string; status: string; reason: string | null; payment: string }>(
      db,
      'SELECT id, status, reason, payment_status AS payment FROM orders',
    );
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    for (const id of slow)
      expect(byId.get(id)).toMatchObject({ status: 'FAILED', reason: 'PAYMENT_TIMEOUT', payment: 'REFUNDED' });
    for (const id of fast) expect(byId.get(id)).toMatchObject({ status: 'SHIPPED', payment: 'CAPTURED' });
  });
});
