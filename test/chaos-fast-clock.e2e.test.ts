/**
 * Chaos: a worker host whose clock runs 40 s ahead. The service runs as real processes (one API,
 * two workers), one of the workers under libfaketime (`FAKETIME=+40s`: every clock read of that
 * process is 40 s ahead, as on a host whose NTP broke). Deadlines, "stuck for" and timeline times
 * are read on one clock, Redis's: no order fails its payment for the skew, no timeline goes
 * backwards, and the skewed process says so at start and in /readyz.
 *
 * Needs Debian's `faketime` package (libfaketime); skipped without it unless REQUIRE_FAKETIME=1,
 * as CI sets.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { openStore, sqlRows, storeEnv, type StoreEnv } from './support/store.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const available = existsSync(LIBFAKETIME);
if (!available && process.env.REQUIRE_FAKETIME === '1') throw new Error(`${LIBFAKETIME} missing: apt-get install faketime`);

const AHEAD_S = 40;
const ORDERS = 100;
const STOCK = { 'SKU-A': ORDERS };

let dir: string;
let redis: TestRedis;
let store: StoreEnv;
const processes: ServiceProcess[] = [];
let fast: ServiceProcess;
let db: Db;
let watcher: Redis;
let queues: Queue[];
let base: string;

beforeAll(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'orders-fast-clock-'));
  redis = await startRedisServer();
  store = await storeEnv(dir);
  const env = {
    ...store,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'fastclock',
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    PAYMENT_TIMEOUT_MS: '30000',
    PAYMENT_LATENCY_MS: '20',
    JOB_BACKOFF_MS: '50',
    RELAY_SWEEP_MS: '200',
    STUCK_AFTER_MS: '20000',
    RECONCILE_INTERVAL_MS: '500',
  };
  processes.push(await startServiceProcess({ ...env, ROLE: 'api' }));
  base = `http://127.0.0.1:${processes[0]!.port}`;
  processes.push(await startServiceProcess({ ...env, ROLE: 'worker' }));
  fast = await startServiceProcess({
    ...env,
    ROLE: 'worker',
    METRICS_PORT: '0',
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME: `+${AHEAD_S}s`,
    // Timers run on the monotonic clock: only the wall clock is wrong on such a host.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
  processes.push(fast);
  db = await openStore(store);
  watcher = new Redis(redis.url, { maxRetriesPerRequest: null });
  queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix: 'fastclock' }));
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(async () => {
  if (!available) return;
  await Promise.allSettled(processes.map((p) => p.kill()));
  await Promise.allSettled(queues?.map((q) => q.close()) ?? []);
  watcher?.disconnect();
  if (db) await closeDatabase(db);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(available)('chaos: a worker host with a fast clock', { timeout: 180_000 }, () => {
  it('fails no payment for the skew, keeps every timeline in order, and says the clock is off', async () => {
    // The skewed process says so at start, and in /readyz.
    const warning = fast.logs.find((l) => String(l.msg).startsWith("this host's clock is"));
    expect(warning?.msg).toMatch(/ahead of Redis's/);
    const ready = await fetch(`http://127.0.0.1:${fast.metricsPort}/readyz`);
    const body = (await ready.json()) as { clockOffsetMs: number; checks: Record<string, string> };
    expect(body.checks.clock).toBe('skewed');
    expect(body.clockOffsetMs).toBeLessThan(-(AHEAD_S - 5) * 1000);

    await Promise.all(
      Array.from({ length: 10 }, async (_, client) => {
        for (let i = client; i < ORDERS; i += 10) {
          const { status } = await placeOrderOver(base, orderBody('tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_${i}`));
          expect(status).toBe(201);
        }
      }),
    );
    // Settled means every order at rest and no job waiting: the payment deadlines are delayed
    // jobs that the fast worker takes early, finds not yet due on Redis's clock and puts back.
    await waitUntilSettled(db, queues, { timeoutMs: 90_000, owedMessages: true });
    expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);
    const outcomes = await sqlRows<{ status: string; n: number }>(db, 'SELECT status, count(*) AS n FROM orders GROUP BY status');
    expect(outcomes.map((o) => ({ status: o.status, n: Number(o.n) }))).toEqual([{ status: 'SHIPPED', n: ORDERS }]);

    // Every timeline's times only move forward, whichever process wrote each entry.
    const events = await sqlRows<{ orderId: string; at: number }>(
      db,
      'SELECT order_id AS "orderId", at FROM order_events ORDER BY order_id, id',
    );
    const backwards: string[] = [];
    for (let i = 1; i < events.length; i++) {
      const [before, after] = [events[i - 1]!, events[i]!];
      if (before.orderId === after.orderId && Number(after.at) < Number(before.at) - 50) backwards.push(after.orderId);
    }
    expect(backwards).toEqual([]);
  });
});
