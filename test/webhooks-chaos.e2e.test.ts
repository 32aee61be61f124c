/**
 * Outbound webhooks under damage, with the service as real processes (one API, two workers) on a
 * private Redis: a worker SIGKILLed while deliveries are in flight, then Redis wiped (FLUSHALL)
 * with deliveries and their retries queued. Afterwards, every committed event reached the
 * receiver at least once and verified, copies share their `webhook-id`, nothing arrived that no
 * committed change caused, and the orders settled with DESIGN.md's invariants intact.
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
import { WEBHOOK_EVENT_TYPES } from '../src/domain/webhook-events.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { clientHeaders } from '../src/cli/http-client.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, sqlNumber, storeEnv, type StoreEnv } from './support/store.ts';
import { pendingDeliveries, webhookViolations } from './support/webhook-invariants.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const STOCK = { 'SKU-A': 200 };
const ALL = [...WEBHOOK_EVENT_TYPES];

let dir: string;
let redis: TestRedis;
let store: StoreEnv;
let env: Record<string, string>;
let api: ServiceProcess;
const workers: ServiceProcess[] = [];
let db: Db;
let watcher: Redis;
let queues: Queue[];
let base: string;
let receiver: WebhookReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-webhook-chaos-'));
  redis = await startRedisServer();
  store = await storeEnv(dir);
  receiver = await WebhookReceiver.start();
  env = {
    ...store,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'whchaos',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    JOB_BACKOFF_MS: '50',
    JOB_LOCK_MS: '1500',
    RELAY_SWEEP_MS: '100',
    STUCK_AFTER_MS: '1500',
    RECONCILE_INTERVAL_MS: '250',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_RETRY_BASE_MS: '100',
    WEBHOOK_RETRY_MAX_DELAY_MS: '500',
    WEBHOOK_TIMEOUT_MS: '2000',
    WEBHOOK_ENDPOINT_CACHE_MS: '100',
  };
  // Three processes loading at once on a shared machine: generous deadlines, not a race.
  const [started, ...both] = await Promise.all([
    startServiceProcess({ ...env, ROLE: 'api' }, 60_000),
    startWorker(),
    startWorker(),
  ]);
  api = started!;
  base = `http://127.0.0.1:${api.port}`;
  workers.push(...both);
  db = await openStore(store);
  watcher = new Redis(redis.url, { maxRetriesPerRequest: null });
  watcher.on('error', () => {});
  queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: 'whchaos' }));
  for (const queue of queues) queue.on('error', () => {});
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN, 700)).toBe(201);
  const res = await fetch(`${base}/admin/webhook-endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url('/erp'), events: ALL }),
  });
  expect(res.status).toBe(201);
  receiver.trust('/erp', ((await res.json()) as { secret: string }).secret);
  // Past the workers' cache of who subscribes.
  await sleep(300);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([api?.kill(), ...workers.map((w) => w.kill())]);
  await Promise.allSettled(queues?.map((q) => q.close()) ?? []);
  watcher?.disconnect();
  if (db) await closeDatabase(db);
  await redis?.stop();
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startWorker(): Promise<ServiceProcess> {
  // Generous: on a loaded machine a process takes a while to load.
  return startServiceProcess({ ...env, ROLE: 'worker' }, 60_000);
}

let next = 0;
async function placeOrders(count: number, concurrency = 8): Promise<void> {
  const last = next + count;
  const one = async () => {
    while (next < last) {
      const i = next++;
      const { status, id } = await placeOrderOver(
        base,
        orderBody(i % 5 === 0 ? 'tok_chargeDeclined' : 'tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_${i}`),
      );
      expect(status).toBe(201);
      if (i % 7 === 0) await fetch(`${base}/orders/${id}/cancel`, { method: 'POST', headers: clientHeaders(API_KEY) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function expectEveryEventDelivered(): Promise<void> {
  await waitUntilSettled(db, queues, { timeoutMs: 90_000 });
  await until('every webhook delivery', async () => (await pendingDeliveries(db)) === 0);
  expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);
  expect(await webhookViolations(db, receiver, [{ path: '/erp', events: ALL }])).toEqual([]);
}

describe('outbound webhooks under damage', { timeout: 180_000 }, () => {
  it('a worker SIGKILLed in the middle of deliveries: every event still arrives, copies under one webhook-id', async () => {
    receiver.latencyMs = 30;
    const flowing = placeOrders(40);
    await until('deliveries in flight', () => receiver.arrivals.length >= 20);
    const victim = workers.shift()!;
    expect(await victim.kill('SIGKILL')).toBeNull();
    await flowing;
    workers.push(await startWorker());
    await expectEveryEventDelivered();
  });

  it('Redis wiped while deliveries wait for their retries: the re-drive sends them from the database', async () => {
    receiver.latencyMs = 0;
    await receiver.down();
    await placeOrders(30);
    await until('deliveries waiting on retries', async () => {
      const n = await sqlNumber(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING' AND attempts >= 1");
      return n >= 30;
    });
    await watcher.flushall();
    const before = receiver.received.length;
    await receiver.up();
    await expectEveryEventDelivered();
    expect(receiver.received.length).toBeGreaterThan(before);
  });
});
