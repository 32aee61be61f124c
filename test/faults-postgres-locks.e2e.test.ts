/**
 * PostgreSQL: a row or a table held by another session for much longer than any statement of the
 * service takes. The server ends the service's waits itself (lock_timeout, statement_timeout), so
 * that a process never holds more server connections than DATABASE_POOL_SIZE; a request that
 * waited answers 503 with Retry-After, a job that waited is delayed without spending an attempt,
 * and once the lock is released every order settles with every invariant holding.
 *
 * PostgreSQL only: row locks held by another session, and the server's connection count, are its.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clientHeaders } from '../src/cli/http-client.ts';
import type { Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, storeEnv, type StoreEnv } from './support/store.ts';
import { testStore } from './support/test-database.ts';

const POOL_SIZE = 3;
const STOCK = { 'SKU-L': 200 };
/** Much longer than the service's statement bounds (seconds) and its job attempts' backoff. */
const HOLD_MS = 15_000;

let dir: string;
let store: StoreEnv;
let api: ServiceProcess;
let worker: ServiceProcess;
let base: string;
let watcher: Redis;
let queues: Queue[];
/** The test's own sessions: one that holds locks, one that counts the service's connections. */
let locker: pg.Client;
let counter: pg.Client;
const prefix = `pglock${Date.now().toString(36)}`;
let seq = 0;

const run = testStore() === 'postgres';

beforeAll(async () => {
  if (!run) return;
  dir = mkdtempSync(join(tmpdir(), 'orders-pglocks-'));
  store = await storeEnv(dir);
  const env = {
    ...store,
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    JOB_ATTEMPTS: '3',
    JOB_BACKOFF_MS: '50',
    RELAY_SWEEP_MS: '100',
    RECONCILE_INTERVAL_MS: '500',
    STUCK_AFTER_MS: '60000',
    // Charges still in flight when the lock is taken: their reservations meet it.
    PAYMENT_LATENCY_MS: '1500',
  };
  api = await startServiceProcess({ ...env, ROLE: 'api' });
  worker = await startServiceProcess({ ...env, ROLE: 'worker' });
  base = `http://127.0.0.1:${api.port}`;
  watcher = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix }));
  locker = new pg.Client({ connectionString: store.DATABASE_URL, application_name: 'test-locker' });
  counter = new pg.Client({ connectionString: store.DATABASE_URL, application_name: 'test-counter' });
  await Promise.all([locker.connect(), counter.connect()]);
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(async () => {
  if (!run) return;
  await Promise.allSettled([api?.kill(), worker?.kill()]);
  await Promise.allSettled(queues?.map((q) => q.close()) ?? []);
  watcher?.disconnect();
  await Promise.allSettled([locker?.end(), counter?.end()]);
  rmSync(dir, { recursive: true, force: true });
});

/** The service's backends on the server now (the test's own sessions carry other names). */
async function serviceConnections(): Promise<number> {
  const { rows } = await counter.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'order-service'`,
  );
  return rows[0].n as number;
}

/** Samples the service's backends every 100 ms until `done` settles; answers the most seen. */
async function mostConnectionsWhile(done: Promise<unknown>): Promise<number> {
  let most = 0;
  let over = false;
  const end = () => {
    over = true;
  };
  done.then(end, end);
  while (!over) {
    most = Math.max(most, await serviceConnections());
    await sleep(100);
  }
  return Math.max(most, await serviceConnections());
}

function post(key: string) {
  return fetch(`${base}/orders`, {
    method: 'POST',
    headers: { ...clientHeaders(API_KEY), 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(orderBody('tok_visa', [{ sku: 'SKU-L', quantity: 1 }], `cus_${key}`)),
    signal: AbortSignal.timeout(30_000),
  });
}

async function settleAndCheck(): Promise<void> {
  // The test's own handle on the store, opened once the locks are gone (its pool would be counted).
  const db: Db = await openStore(store);
  try {
    await waitUntilSettled(db, queues, { timeoutMs: 60_000, owedMessages: true });
    expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);
    for (const queue of queues) expect(await queue.getFailedCount(), queue.name).toBe(0);
  } finally {
    await closeDatabase(db);
  }
}

describe.runIf(run)('PostgreSQL: a lock held by another session', { timeout: 180_000 }, () => {
  it('a product row held FOR UPDATE delays reservations without spending attempts and answers 503, within the pool’s connections', async () => {
    for (let i = 0; i < 20; i++) expect((await post(`row-${seq++}`)).status).toBe(201);
    await locker.query('BEGIN');
    await locker.query(`SELECT * FROM products WHERE sku = 'SKU-L' FOR UPDATE`);
    const held = (async () => {
      // Placement reads the product's row too: while it is held, intake says "later".
      const res = await post(`row-${seq++}`);
      expect(res.status, await res.text()).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      await sleep(HOLD_MS);
    })();
    const most = await mostConnectionsWhile(held);
    await held;
    await locker.query('COMMIT');

    // Two processes, each holding at most its pool, however long the lock was held.
    expect(most).toBeLessThanOrEqual(2 * POOL_SIZE);
    expect(worker.logs.map((l) => l.msg)).toContain(
      'database work lost to concurrent sessions (a lock held elsewhere?); jobs wait and run again',
    );
    await settleAndCheck();
  });

  it('a table locked against writes answers 503 with Retry-After; the same request passes once it is released', async () => {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE orders IN SHARE MODE');
    const key = `table-${seq++}`;
    const refused = (async () => {
      const answers: Response[] = [];
      for (let i = 0; i < 5; i++) answers.push(await post(`${key}-${i}`));
      return answers;
    })();
    const most = await mostConnectionsWhile(refused);
    for (const res of await refused) {
      const text = await res.text();
      expect(res.status, text).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(JSON.parse(text)).toMatchObject({ status: 503, type: '/problems/unavailable' });
    }
    expect(most).toBeLessThanOrEqual(2 * POOL_SIZE);
    await locker.query('COMMIT');

    for (let i = 0; i < 5; i++) expect((await post(`${key}-${i}`)).status).toBe(201);
    await settleAndCheck();
  });
});
