/**
 * Storage exhaustion: the database's disk fills up under a running service (a small tmpfs mounted
 * by the test; CI runs as root). Requests that need a write get 503 with Retry-After, /readyz says
 * not ready, the log does not flood, nothing accepted is lost, and the service recovers by itself
 * once space comes back.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { openStore, sqlRow, storeEnv } from './support/store.ts';
import { testStore } from './support/test-database.ts';

let mountPoint: string | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.kill('SIGKILL');
  service = undefined;
  if (mountPoint) {
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
    mountPoint = undefined;
  }
});

/** Writes a file until the file system is full; answers its path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    // What is left is less than a chunk: take it too, byte by byte in small pieces.
    for (let size = 8 * 1024; size >= 1; size = Math.floor(size / 2)) {
      try {
        for (;;) writeSync(fd, chunk.subarray(0, size));
      } catch {
        // next smaller size
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

// A full disk under SQLite's own file: PostgreSQL keeps its files on its server, and its outages
// are tested on their own.
describe.runIf(testStore() === 'sqlite')('a full disk under the database', () => {
  it('answers 503 with Retry-After, says not ready, logs with backoff, loses nothing and recovers without a restart', async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'orders-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    const store = await storeEnv(dataDir);
    service = await startServiceProcess({
      ...store,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `disk${Date.now()}`,
      PORT: '0',
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      PAYMENT_LATENCY_MS: '1500', // charges are at the gateway when the disk fills
      JOB_BACKOFF_MS: '50',
      RELAY_SWEEP_MS: '100',
      RECONCILE_INTERVAL_MS: '200',
      STUCK_AFTER_MS: '1000',
    });
    const base = `http://127.0.0.1:${service.port}`;
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const put = (stock: number) =>
      fetch(`${base}/admin/products/SKU-1`, {
        method: 'PUT',
        headers: admin,
        body: JSON.stringify({ name: 'Mug', priceCents: 500, stock }),
      });
    const place = () =>
      fetch(`${base}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify(orderBody()),
      });
    expect((await put(50)).status).toBe(201);
    const accepted: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await place();
      expect(res.status).toBe(201);
      accepted.push(((await res.json()) as { id: string }).id);
    }

    const filler = fillDisk(mountPoint);
    const logLinesBefore = service.logs.length;
    const refused = await place();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await put(60)).status).toBe(503);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { database: string } }).checks.database).toBe('unwritable');

    // The relay, the workers and the reconciler keep failing for a few seconds: with backoff, not per pass.
    await sleep(3_000);
    const during = service.logs.slice(logLinesBefore).filter((l) => (l.level as number) >= 40);
    expect(during.length).toBeLessThan(40);

    rmSync(filler);
    // No restart: writes work again, readiness comes back, and every accepted order settles.
    let again = await place();
    for (let i = 0; i < 50 && again.status !== 201; i++) {
      await sleep(100);
      again = await place();
    }
    expect(again.status).toBe(201);
    accepted.push(((await again.json()) as { id: string }).id);
    // An order just went in: the database takes writes, and readiness says so at once.
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const db = await openStore(store);
    try {
      const statuses = async () =>
        Promise.all(
          accepted.map(
            async (id) => (await sqlRow<{ status: string }>(db, 'SELECT status FROM orders WHERE id = ?', id))?.status,
          ),
        );
      for (let i = 0; i < 300 && (await statuses()).some((s) => s !== 'SHIPPED'); i++) await sleep(100);
      expect(await statuses()).toEqual(accepted.map(() => 'SHIPPED'));
      // A message whose job met the full disk waits out its delay: every owed one is sent in time.
      await waitUntilSettled(db, [], { timeoutMs: 30_000, owedMessages: true });
      expect(await invariantViolations(db, { initialStock: { 'SKU-1': 50 } })).toEqual([]);
    } finally {
      await closeDatabase(db);
    }
  });
});
