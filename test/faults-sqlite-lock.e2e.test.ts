/**
 * SQLite: the file's write lock held by another process (here, the test's own connection running
 * BEGIN EXCLUSIVE) for longer than a write may wait. The service, a real process, never blocks its
 * event loop on the lock: /healthz and reads keep answering at once, a write answers 503 with
 * Retry-After after its bounded wait, and once the lock is released the same request passes and
 * every order settles with the invariants holding.
 *
 * SQLite only: a file lock held by another process is SQLite's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clientHeaders } from '../src/cli/http-client.ts';
import type { Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { putProductOver, startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, type StoreEnv } from './support/store.ts';
import { testStore } from './support/test-database.ts';

const STOCK = { 'SKU-1': 100 };
/** Longer than a write waits for the lock (5 s), as the fault that froze the process did. */
const HOLD_MS = 10_000;
/** What "at once" means for an answer that needs no write lock, on a loaded machine. */
const PROMPT_MS = 2_000;

const run = testStore() === 'sqlite';
let dir: string;
let store: StoreEnv;
let service: ServiceProcess;
let base: string;
let watcher: Redis;
let queues: Queue[];
const prefix = `sqlock${Date.now().toString(36)}`;

beforeAll(async () => {
  if (!run) return;
  dir = mkdtempSync(join(tmpdir(), 'orders-sqlite-lock-'));
  store = { DATABASE_PATH: join(dir, 'orders.db') };
  service = await startServiceProcess({
    ...store,
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PORT: '0',
    JOB_BACKOFF_MS: '50',
    RELAY_SWEEP_MS: '100',
    RECONCILE_INTERVAL_MS: '250',
    STUCK_AFTER_MS: '3000',
  });
  base = `http://127.0.0.1:${service.port}`;
  watcher = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: watcher, prefix }));
  for (const [sku, stock] of Object.entries(STOCK)) expect(await putProductOver(base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(async () => {
  if (!run) return;
  await service?.kill();
  await Promise.allSettled(queues?.map((q) => q.close()) ?? []);
  watcher?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

async function timed(path: string, init: RequestInit = {}): Promise<{ res: Response; text: string; tookMs: number }> {
  const started = Date.now();
  const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { res, text, tookMs: Date.now() - started };
}

const place = (key: string) =>
  timed('/orders', {
    method: 'POST',
    headers: { ...clientHeaders(API_KEY), 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }])),
  });

describe.runIf(run)('SQLite: the write lock held by another process', { timeout: 120_000 }, () => {
  it('keeps health and reads answering at once, answers writes 503 after a bounded wait, and recovers', async () => {
    const before = await place('before');
    expect(before.res.status).toBe(201);
    const { id } = JSON.parse(before.text) as { id: string };

    const locker = new Database(store.DATABASE_PATH);
    locker.pragma('busy_timeout = 10000');
    locker.exec('BEGIN EXCLUSIVE');
    const released = Date.now() + HOLD_MS;
    let refused: Awaited<ReturnType<typeof place>> | undefined;
    try {
      // A write waits for the lock, without holding anything else up meanwhile.
      const writing = place('during').then((r) => (refused = r));
      while (Date.now() < released - 1_000) {
        const health = await timed('/healthz');
        expect(health.res.status).toBe(200);
        expect(health.tookMs).toBeLessThan(PROMPT_MS);
        const read = await timed(`/orders/${id}`, { headers: clientHeaders(API_KEY) });
        expect(read.res.status).toBe(200);
        expect(read.tookMs).toBeLessThan(PROMPT_MS);
        await sleep(250);
      }
      await writing;
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    expect(refused!.res.status, refused!.text).toBe(503);
    expect(Number(refused!.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused!.tookMs).toBeLessThan(HOLD_MS);

    // The same request, sent again once the lock is gone, passes.
    expect((await place('during')).res.status).toBe(201);
    const db: Db = await openStore(store);
    try {
      await waitUntilSettled(db, queues, { timeoutMs: 60_000, owedMessages: true });
      expect(await invariantViolations(db, { initialStock: STOCK })).toEqual([]);
    } finally {
      await closeDatabase(db);
    }
  });
});
