/**
 * The chaos suite: the service as real processes (one API, two workers) on a private Redis, a few
 * hundred orders for less stock than they ask for, and damage done while they flow. After each
 * blow, every order settles and the invariants of DESIGN.md hold over all of them, checked
 * against the sandbox's own ledgers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from './support/deployment.ts';
import { duplicateJobs } from './support/duplicate-jobs.ts';
import { clientHeaders } from '../src/cli/http-client.ts';
import { ADMIN_TOKEN, API_KEY, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, type ServiceProcess } from './support/processes.ts';
import { startRedisServer } from './support/redis-server.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlNumber, sqlRows } from './support/store.ts';

const STOCK = { 'SKU-A': 90, 'SKU-B': 60 };
const GRACE_MS = 8_000;

let deployment: Deployment;
const workers: ServiceProcess[] = [];
let placed = 0;
let attempted = 0;

beforeAll(async () => {
  deployment = await startDeployment({
    name: 'chaos',
    queuePrefix: 'chaos',
    env: {
      PAYMENT_LATENCY_MS: '15', // so that jobs are in flight when the blows land
      JOB_BACKOFF_MS: '50',
      JOB_LOCK_MS: '1500',
      RELAY_SWEEP_MS: '100',
      STUCK_AFTER_MS: '1500',
      RECONCILE_INTERVAL_MS: '250',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    },
  });
  workers.push(await startWorker(), await startWorker());
  for (const [sku, stock] of Object.entries(STOCK))
    expect(await putProductOver(deployment.base, sku, stock, ADMIN_TOKEN, 700)).toBe(201);
}, 60_000);

afterAll(() => deployment?.stop());

function startWorker(): Promise<ServiceProcess> {
  return deployment.startProcess('worker');
}

const TOKENS = ['tok_visa', 'tok_visa', 'tok_visa', 'tok_visa', 'tok_chargeDeclined', 'tok_flaky', 'tok_flaky'];

/**
 * Offers `count` orders, `concurrency` at a time; some are cancelled right after. Once the shelves
 * empty, placement refuses what cannot be sold (409, nothing written). Resolves when all are in.
 */
async function placeOrders(count: number, concurrency = 10): Promise<void> {
  let next = 0;
  const first = attempted;
  attempted += count;
  const one = async () => {
    while (next < count) {
      const i = first + next++;
      const items = [{ sku: i % 3 === 0 ? 'SKU-B' : 'SKU-A', quantity: 1 + (i % 2) }];
      const { status, id } = await placeOrderOver(deployment.base, orderBody(TOKENS[i % TOKENS.length], items, `cus_${i}`), {
        'idempotency-key': `chaos-${i}`,
      });
      expect([201, 409]).toContain(status);
      if (status !== 201) continue;
      placed++;
      if (i % 17 === 0) {
        const cancel = await fetch(`${deployment.base}/orders/${id}/cancel`, { method: 'POST', headers: clientHeaders(API_KEY) });
        expect([200, 409]).toContain(cancel.status);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
}

async function expectSettledAndSound(): Promise<void> {
  await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000, owedMessages: true });
  expect(await invariantViolations(deployment.db, { initialStock: STOCK })).toEqual([]);
  expect(await sqlNumber(deployment.db, 'SELECT count(*) AS n FROM orders')).toBe(placed);
}

// Each blow may take a minute to settle (waitUntilSettled's own limit): PostgreSQL's serializable
// retries make it slower than SQLite under this crowd of workers.
describe('chaos: real processes, real damage', { timeout: 120_000 }, () => {
  it('survives a worker SIGKILLed mid-run', async () => {
    const flowing = placeOrders(80);
    await sleep(150);
    const victim = workers.shift()!;
    expect(await victim.kill('SIGKILL')).toBeNull();
    await flowing;
    workers.push(await startWorker());
    await expectSettledAndSound();
  });

  it('survives Redis killed and replaced by an empty one on the same port', async () => {
    const flowing = placeOrders(80);
    await sleep(150);
    await deployment.redis.stop();
    await sleep(300);
    deployment.redis = await startRedisServer(deployment.redis.port);
    await flowing;
    await expectSettledAndSound();
  });

  it('survives every job delivered twice on purpose', async () => {
    const seen = new Set<string>();
    const flowing = placeOrders(60);
    let copies = 0;
    let done = false;
    void flowing.then(() => (done = true));
    while (!done) {
      copies += await duplicateJobs(deployment.queues, '', seen);
      await sleep(20);
    }
    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000 });
    copies += await duplicateJobs(deployment.queues, '', seen);
    expect(copies).toBeGreaterThan(100);
    await expectSettledAndSound();
  });

  it('drains a worker on SIGTERM: active jobs finish, nothing is lost', async () => {
    const flowing = placeOrders(80);
    await sleep(150);
    const leaving = workers.shift()!;
    const started = Date.now();
    expect(await leaving.kill('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(GRACE_MS + 5_000);
    expect(leaving.logs.map((l) => l.msg)).toContain('stopped cleanly');
    await flowing;
    workers.push(await startWorker());
    await expectSettledAndSound();

    // Over the whole run, every branch was taken.
    const outcomes = await sqlRows(deployment.db, 'SELECT DISTINCT status, reason FROM orders ORDER BY 1, 2');
    expect(outcomes).toEqual(
      expect.arrayContaining([
        { status: 'SHIPPED', reason: null },
        { status: 'FAILED', reason: 'PAYMENT_DECLINED' },
        { status: 'FAILED', reason: 'OUT_OF_STOCK' },
        { status: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' },
      ]),
    );
  });
});
