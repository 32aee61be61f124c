/**
 * Chaos: Redis out of memory. The service runs as real processes (one API, one worker) on a Redis
 * with `noeviction`; mid-run its `maxmemory` is set below what it holds, so that every write is
 * refused ("OOM command not allowed") while reads and PING still answer. Intake keeps answering
 * 201 (the orders wait in the outbox), `/readyz` says not ready and why ("out of memory"), the
 * log says so in those words, and once memory is raised every order settles with the invariants
 * holding. Completed jobs are kept only as many as COMPLETED_JOB_RETENTION_COUNT says.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from './support/deployment.ts';
import { ADMIN_TOKEN, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlNumber } from './support/store.ts';

const STOCK = { 'SKU-A': 200 };
const KEEP_COMPLETED = 15;

let deployment: Deployment;
let api: ServiceProcess;
let worker: ServiceProcess;
let placed = 0;

beforeAll(async () => {
  deployment = await startDeployment({
    name: 'oom',
    queuePrefix: 'oom',
    env: {
      JOB_BACKOFF_MS: '50',
      RELAY_SWEEP_MS: '200',
      STUCK_AFTER_MS: '5000',
      RECONCILE_INTERVAL_MS: '500',
      RELAY_FAILING_READY_MS: '2000',
      COMPLETED_JOB_RETENTION_COUNT: String(KEEP_COMPLETED),
    },
  });
  api = deployment.api;
  worker = await deployment.startProcess('worker', { METRICS_PORT: '0' });
  for (const [sku, stock] of Object.entries(STOCK))
    expect(await putProductOver(deployment.base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(() => deployment?.stop());

async function placeOrders(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const n = placed;
    const { status } = await placeOrderOver(deployment.base, orderBody('tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_${n}`), {
      'idempotency-key': `oom-${n}`,
    });
    expect(status).toBe(201);
    placed++;
  }
}

async function readiness(url: string): Promise<{ status: number; checks: Record<string, string> }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
}

describe('chaos: Redis out of memory', { timeout: 180_000 }, () => {
  it('keeps completed jobs only as configured', async () => {
    await placeOrders(30);
    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000, owedMessages: true });
    for (const queue of deployment.queues)
      expect(await queue.getCompletedCount(), queue.name).toBeLessThanOrEqual(KEEP_COMPLETED);
    expect(await deployment.queues.find((q) => q.name === 'inventory')!.getCompletedCount()).toBe(KEEP_COMPLETED);
  });

  it('takes orders while Redis refuses every write, says "out of memory" in /readyz and the log, and settles once memory is raised', async () => {
    await deployment.watcher.config('SET', 'maxmemory', '1');
    try {
      await placeOrders(10);
      const workerOps = `http://127.0.0.1:${worker.metricsPort}`;
      for (const url of [deployment.base, workerOps]) {
        const deadline = Date.now() + 30_000;
        let seen = await readiness(url);
        while (seen.checks.relay !== 'out of memory' && Date.now() < deadline) {
          await sleep(200);
          seen = await readiness(url);
        }
        expect(seen.status).toBe(503);
        expect(seen.checks).toMatchObject({ redis: 'ok', relay: 'out of memory' });
      }
      // The relay says it has stalled at its next failure after RELAY_FAILING_READY_MS.
      const said = () => api.logs.map((l) => String(l.msg));
      const stalled = (m: string) => m.includes('failed for') && m.includes('out of memory');
      const logDeadline = Date.now() + 30_000;
      while (!said().some(stalled) && Date.now() < logDeadline) await sleep(100);
      expect(said().some((m) => m.startsWith('Redis is out of memory'))).toBe(true);
      expect(said().some(stalled)).toBe(true);
      expect(said().filter((m) => m.includes('cannot reach Redis'))).toEqual([]);
      expect(await sqlNumber(deployment.db, 'SELECT count(*) AS n FROM outbox WHERE dispatched_at IS NULL')).toBeGreaterThan(0);
    } finally {
      await deployment.watcher.config('SET', 'maxmemory', '0');
    }

    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000, owedMessages: true });
    expect(await invariantViolations(deployment.db, { initialStock: STOCK })).toEqual([]);
    expect(await sqlNumber(deployment.db, 'SELECT count(*) AS n FROM orders')).toBe(placed);
    expect(await sqlNumber(deployment.db, `SELECT count(*) AS n FROM orders WHERE status = 'SHIPPED'`)).toBe(placed);
    const deadline = Date.now() + 30_000;
    while ((await readiness(deployment.base)).status !== 200 && Date.now() < deadline) await sleep(200);
    expect((await readiness(deployment.base)).checks).toMatchObject({ relay: 'ok', outbox: 'ok' });
  });
});
