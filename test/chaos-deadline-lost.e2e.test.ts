/**
 * Chaos: a payment deadline lost with Redis. The service runs as real processes (one API, one
 * worker); charges are asked for at a gateway that answers after PAYMENT_TIMEOUT_MS (`tok_slow`),
 * and Redis is then killed and replaced by an empty one, so that the delayed jobs guarding their
 * deadlines are gone. A capture recorded after the deadline is late all the same, from the time
 * the database holds: every such order ends FAILED with PAYMENT_TIMEOUT and its capture refunded
 * once, none ships; orders that pay in time go on as usual.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from './support/deployment.ts';
import { ADMIN_TOKEN, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver } from './support/processes.ts';
import { startRedisServer } from './support/redis-server.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlNumber, sqlRows } from './support/store.ts';

const STOCK = { 'SKU-A': 100 };
const PAYMENT_TIMEOUT_MS = 3_000;
const SLOW = 20;
const FAST = 10;

let deployment: Deployment;

beforeAll(async () => {
  deployment = await startDeployment({
    name: 'deadline',
    queuePrefix: 'deadline',
    env: {
      PAYMENT_TIMEOUT_MS: String(PAYMENT_TIMEOUT_MS),
      JOB_BACKOFF_MS: '50',
      JOB_LOCK_MS: '1500',
      RELAY_SWEEP_MS: '100',
      // Longer than the gateway takes to answer: the reconciler does not re-arm the lost deadlines
      // before the late captures come in.
      STUCK_AFTER_MS: '10000',
      RECONCILE_INTERVAL_MS: '500',
    },
  });
  await deployment.startProcess('worker');
  for (const [sku, stock] of Object.entries(STOCK))
    expect(await putProductOver(deployment.base, sku, stock, ADMIN_TOKEN)).toBe(201);
}, 60_000);

afterAll(() => deployment?.stop());

describe('chaos: a payment deadline lost with Redis', { timeout: 180_000 }, () => {
  it('a capture recorded after the deadline is late, whether or not the deadline job survived', async () => {
    const slow: string[] = [];
    for (let i = 0; i < SLOW; i++) {
      const { status, id } = await placeOrderOver(
        deployment.base,
        orderBody('tok_slow', [{ sku: 'SKU-A', quantity: 1 }], `cus_s${i}`),
      );
      expect(status).toBe(201);
      slow.push(id!);
    }
    // Every charge asked for, and its deadline queued in Redis, before Redis loses everything.
    const list = slow.map((id) => `'${id}'`).join(',');
    const deadline = Date.now() + 30_000;
    while (
      (await sqlNumber(deployment.db, `SELECT count(*) AS n FROM orders WHERE id IN (${list}) AND status = 'PAYMENT_PENDING'`)) <
      SLOW
    ) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(50);
    }
    await deployment.redis.stop();
    deployment.redis = await startRedisServer(deployment.redis.port);

    const fast: string[] = [];
    for (let i = 0; i < FAST; i++) {
      const { status, id } = await placeOrderOver(
        deployment.base,
        orderBody('tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_f${i}`),
      );
      expect(status).toBe(201);
      fast.push(id!);
    }

    await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 90_000, owedMessages: true });
    expect(await invariantViolations(deployment.db, { initialStock: STOCK })).toEqual([]);
    const outcomes = await sqlRows<{ id: string; status: string; reason: string | null; payment: string }>(
      deployment.db,
      'SELECT id, status, reason, payment_status AS payment FROM orders',
    );
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    for (const id of slow)
      expect(byId.get(id)).toMatchObject({ status: 'FAILED', reason: 'PAYMENT_TIMEOUT', payment: 'REFUNDED' });
    for (const id of fast) expect(byId.get(id)).toMatchObject({ status: 'SHIPPED', payment: 'CAPTURED' });
  });
});
