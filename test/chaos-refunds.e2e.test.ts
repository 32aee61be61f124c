/**
 * A worker SIGKILLed in the middle of refunding: real processes (one API, one worker) on a private
 * Redis, a gateway slow enough that the kill lands while refunds are at the gateway or between its
 * answer and their record. Another worker takes the jobs over once their locks lapse; every refund
 * settles, each refunded once at the gateway under its own id, and the invariants hold.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientHeaders } from '../src/cli/http-client.ts';
import { type Deployment, startDeployment, waitFor } from './support/deployment.ts';
import { ADMIN_TOKEN, API_KEY, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlNumber } from './support/store.ts';

const ORDERS = 4;
let deployment: Deployment;

beforeAll(async () => {
  deployment = await startDeployment({
    name: 'chaos-refunds',
    queuePrefix: 'chaosrefunds',
    startTimeoutMs: 60_000,
    env: {
      PAYMENT_LATENCY_MS: '400', // each refund waits this long at the gateway before it is written
      JOB_BACKOFF_MS: '50',
      JOB_LOCK_MS: '1500',
      RELAY_SWEEP_MS: '100',
      STUCK_AFTER_MS: '3000',
      RECONCILE_INTERVAL_MS: '500',
    },
  });
  expect(await putProductOver(deployment.base, 'SKU-1', 50, ADMIN_TOKEN, 1_000)).toBe(201);
}, 60_000);

afterAll(() => deployment?.stop());

const refund = (orderId: string, amountCents: number) =>
  fetch(`${deployment.base}/orders/${orderId}/refunds`, {
    method: 'POST',
    headers: clientHeaders(API_KEY, { 'content-type': 'application/json' }),
    body: JSON.stringify({ amountCents, reason: 'chaos' }),
  });

it('refunds each refund once at the gateway when the worker refunding it is SIGKILLed', { timeout: 180_000 }, async () => {
  const first = await deployment.startProcess('worker');
  const ids: string[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const { status, id } = await placeOrderOver(
      deployment.base,
      orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }], `cus_${i}`),
    );
    expect(status).toBe(201);
    ids.push(id!);
  }
  await waitFor(
    'every order shipped',
    async () => (await sqlNumber(deployment.db, `SELECT count(*) AS n FROM orders WHERE status = 'SHIPPED'`)) === ORDERS,
  );

  // Two refunds per order: each job refunds them one after the other, 400 ms at the gateway each.
  for (const id of ids) for (const amount of [300, 450]) expect((await refund(id, amount)).status).toBe(201);
  await waitFor(
    'a refund at the gateway',
    async () => (await sqlNumber(deployment.db, 'SELECT count(*) AS n FROM sandbox_refunds')) > 0,
  );
  expect(await first.kill('SIGKILL')).toBeNull();
  const settledBefore = await sqlNumber(deployment.db, `SELECT count(*) AS n FROM refunds WHERE status = 'SUCCEEDED'`);
  expect(settledBefore).toBeLessThan(ORDERS * 2);

  await deployment.startProcess('worker');
  await waitFor(
    'every refund settled',
    async () => (await sqlNumber(deployment.db, `SELECT count(*) AS n FROM refunds WHERE status = 'SUCCEEDED'`)) === ORDERS * 2,
  );
  await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 60_000, owedMessages: true });
  expect(await sqlNumber(deployment.db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(ORDERS * 2);
  expect(await sqlNumber(deployment.db, `SELECT count(*) AS n FROM orders WHERE payment_status = 'PARTIALLY_REFUNDED'`)).toBe(
    ORDERS,
  );
  expect(await invariantViolations(deployment.db, { initialStock: { 'SKU-1': 50 } })).toEqual([]);
});
