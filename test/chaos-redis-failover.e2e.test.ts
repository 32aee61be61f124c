/**
 * Chaos: a Redis failover behind a stable address. A primary with a replica; the service's
 * processes (one API, two workers) reach Redis through a TCP proxy, the deployment's stable
 * address. Mid-run, while orders flow, the replica is promoted, the address is moved to it for new
 * connections, and the old primary is made a replica of the new one: connections still open to it
 * meet READONLY on every write. Writes the old primary acknowledged and had not replicated are
 * lost, as Redis documents for asynchronous replication. The service reconnects on READONLY, the
 * reconciler re-drives what was lost, and every order settles once, the invariants holding.
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

const STOCK = { 'SKU-A': 300 };
/** What the service is given to settle after the failover: STUCK_AFTER_MS and a few passes over. */
const SETTLE_WITHIN_MS = 60_000;

let dir: string;
let primary: TestRedis;
let replica: TestRedis;
let proxy: TcpProxy;
let store: StoreEnv;
const processes: ServiceProcess[] = [];
let db: Db;
let base: string;
let placed = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-failover-'));
  // A full resynchronisation writes an RDB file: into the test's directory, not the working one.
  primary = await startRedisServer(undefined, { dir });
  replica = await startRedisServer(undefined, { dir });
  await onServer(replica, (r) => r.replicaof('127.0.0.1', primary.port));
  await waitForLink(replica);
  proxy = await startTcpProxy({ port: primary.port });
  store = await storeEnv(dir);
  const env = {
    ...store,
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    QUEUE_PREFIX: 'failover',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    PAYMENT_LATENCY_MS: '15',
    JOB_BACKOFF_MS: '50',
    JOB_LOCK_MS: '2000',
    RELAY_SWEEP_MS: '200',
    STUCK_AFTER_MS: '3000',
    RECONCILE_INTERVAL_MS: '500',
  };
  processes.push(await startServiceProcess({ ...env, ROLE: 'api' }));
  base = `http://127.0.0.1:${processes[0]!.port}`;
  for (let i = 0; i < 2; i++) processes.push(await startServiceProcess({ ...env, ROLE: 'worker' }));
  db = await openStore(store);
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(processes.map((p) => p.kill()));
  if (db) await closeDatabase(db);
  await proxy?.close();
  await Promise.allSettled([primary?.stop(), replica?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function onServer<T>(server: TestRedis, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function waitForLink(server: TestRedis): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await onServer(server, (r) => r.info('replication'))).includes('master_link_status:up')) {
    if (Date.now() > deadline) throw new Error('replica did not link to its primary');
    await sleep(100);
  }
}

async function placeOrders(count: number, concurrency = 8): Promise<void> {
  let next = 0;
  const one = async () => {
    while (next < count) {
      const i = placed + next++;
      const token = i % 6 === 5 ? 'tok_chargeDeclined' : 'tok_visa';
      const { status } = await placeOrderOver(base, orderBody(token, [{ sku: 'SKU-A', quantity: 1 }], `cus_${i}`), {
        'idempotency-key': `failover-${i}`,
      });
      expect(status).toBe(201);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  placed += count;
}

describe('chaos: a Redis failover behind a stable address', { timeout: 180_000 }, () => {
  it('reconnects on READONLY, re-drives what the old primary lost, and settles every order once', async () => {
    const flowing = placeOrders(120);
    await sleep(1_000);
    // The failover, as a managed Redis or an operator does it behind a stable address.
    await onServer(replica, (r) => r.replicaof('NO', 'ONE'));
    proxy.retarget(replica.port);
    await onServer(primary, (r) => r.replicaof('127.0.0.1', replica.port));
    await flowing;
    await placeOrders(30);

    const watcher = new Redis(replica.url, { maxRetriesPerRequest: null });
    const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: 'failover' }));
    try {
      await waitUntilSettled(db, queues, { timeoutMs: SETTLE_WITHIN_MS, owedMessages: true });
      expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);
      expect(await sqlNumber(db, 'SELECT count(*) AS n FROM orders')).toBe(placed);
      expect(await sqlNumber(db, `SELECT count(*) AS n FROM orders WHERE status = 'SHIPPED'`)).toBe(placed - placed / 6);
    } finally {
      await Promise.allSettled(queues.map((q) => q.close()));
      watcher.disconnect();
    }
  });
});
