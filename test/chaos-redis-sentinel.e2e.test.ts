/**
 * Chaos: a Redis failover under Sentinel. A primary, its replica and a sentinel (real
 * redis-server processes, the sentinel with `--sentinel`); the service's processes (one API, two
 * workers) find the master through the sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER). Mid-run,
 * while orders flow, the sentinel is told to fail over: the replica becomes the master and the old
 * one its replica. The service follows the sentinel to the new master, what the old one had not
 * replicated is re-driven, and every order settles once with the invariants holding.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { freePort } from '../src/redis-server/managed-redis.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, sqlNumber, storeEnv, type StoreEnv } from './support/store.ts';

const STOCK = { 'SKU-A': 300 };
const MASTER = 'orders-master';
const SETTLE_WITHIN_MS = 60_000;

let dir: string;
let primary: TestRedis;
let replica: TestRedis;
let sentinel: ChildProcess;
let sentinelPort: number;
let store: StoreEnv;
const processes: ServiceProcess[] = [];
let db: Db;
let base: string;
let placed = 0;

async function on<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms`);
    await sleep(100);
  }
}

const sentinelUrl = () => `redis://127.0.0.1:${sentinelPort}`;
const masterPort = async () =>
  Number(((await on(sentinelUrl(), (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER))) as string[])[1]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-sentinel-'));
  primary = await startRedisServer(undefined, { dir });
  replica = await startRedisServer(undefined, { dir });
  await on(replica.url, (r) => r.replicaof('127.0.0.1', primary.port));
  await until('the replica links', async () =>
    (await on(replica.url, (r) => r.info('replication'))).includes('master_link_status:up'),
  );
  sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 1`,
      `sentinel down-after-milliseconds ${MASTER} 2000`,
      `sentinel failover-timeout ${MASTER} 10000`,
      '',
    ].join('\n'),
  );
  sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await until('the sentinel knows the replica', async () => {
    const replicas = (await on(sentinelUrl(), (r) => r.call('SENTINEL', 'REPLICAS', MASTER))) as string[][];
    return replicas.some((fields) => fields.includes(String(replica.port)) && !fields.join(' ').includes('s_down'));
  });
  store = await storeEnv(dir);
  const env = {
    ...store,
    REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
    REDIS_SENTINEL_MASTER: MASTER,
    QUEUE_PREFIX: 'sentinel',
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
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(processes.map((p) => p.kill()));
  if (db) await closeDatabase(db);
  sentinel?.kill('SIGKILL');
  await Promise.allSettled([primary?.stop(), replica?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function placeOrders(count: number, concurrency = 8): Promise<void> {
  let next = 0;
  const one = async () => {
    while (next < count) {
      const i = placed + next++;
      const token = i % 6 === 5 ? 'tok_chargeDeclined' : 'tok_visa';
      const { status } = await placeOrderOver(base, orderBody(token, [{ sku: 'SKU-A', quantity: 1 }], `cus_${i}`), {
        'idempotency-key': `sentinel-${i}`,
      });
      expect(status).toBe(201);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  placed += count;
}

describe('chaos: a Redis failover under Sentinel', { timeout: 180_000 }, () => {
  it('follows the sentinel to the new master and settles every order once', async () => {
    expect(await masterPort()).toBe(primary.port);
    const flowing = placeOrders(120);
    await sleep(1_000);
    await on(sentinelUrl(), (r) => r.call('SENTINEL', 'FAILOVER', MASTER));
    await until('the sentinel names the new master', async () => (await masterPort()) === replica.port);
    await flowing;
    await placeOrders(30);

    const watcher = new Redis(replica.url, { maxRetriesPerRequest: null });
    const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: 'sentinel' }));
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
