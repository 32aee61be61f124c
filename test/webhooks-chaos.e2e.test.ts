/**
 * Outbound webhooks under damage, with the service as real processes (one API, two workers) on a
 * private Redis: a worker SIGKILLed while deliveries are in flight, then Redis wiped (FLUSHALL)
 * with deliveries and their retries queued. Afterwards, every committed event reached the
 * receiver at least once and verified, copies share their `webhook-id`, nothing arrived that no
 * committed change caused, and the orders settled with DESIGN.md's invariants intact.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../src/domain/webhook-events.ts';
import { clientHeaders } from '../src/cli/http-client.ts';
import { type Deployment, startDeployment, waitFor } from './support/deployment.ts';
import { ADMIN_TOKEN, API_KEY, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { placeOrderOver, putProductOver, type ServiceProcess } from './support/processes.ts';
import { waitUntilSettled } from './support/settle.ts';
import { sqlNumber } from './support/store.ts';
import { pendingDeliveries, webhookViolations } from './support/webhook-invariants.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const STOCK = { 'SKU-A': 200 };
const ALL = [...WEBHOOK_EVENT_TYPES];

let deployment: Deployment;
const workers: ServiceProcess[] = [];
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  deployment = await startDeployment({
    name: 'webhook-chaos',
    queuePrefix: 'whchaos',
    // Three processes loading at once on a shared machine: generous deadlines, not a race.
    startTimeoutMs: 60_000,
    workers: 2,
    env: {
      JOB_BACKOFF_MS: '50',
      JOB_LOCK_MS: '1500',
      RELAY_SWEEP_MS: '100',
      STUCK_AFTER_MS: '1500',
      RECONCILE_INTERVAL_MS: '250',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_RETRY_MAX_DELAY_MS: '500',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_ENDPOINT_CACHE_MS: '100',
    },
  });
  workers.push(...deployment.workers);
  for (const [sku, stock] of Object.entries(STOCK))
    expect(await putProductOver(deployment.base, sku, stock, ADMIN_TOKEN, 700)).toBe(201);
  const res = await fetch(`${deployment.base}/admin/webhook-endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url('/erp'), events: ALL }),
  });
  expect(res.status).toBe(201);
  receiver.trust('/erp', ((await res.json()) as { secret: string }).secret);
  // Past the workers' cache of who subscribes.
  await sleep(300);
}, 180_000);

afterAll(async () => {
  await deployment?.stop();
  await receiver?.stop();
});

let next = 0;
async function placeOrders(count: number, concurrency = 8): Promise<void> {
  const last = next + count;
  const one = async () => {
    while (next < last) {
      const i = next++;
      const { status, id } = await placeOrderOver(
        deployment.base,
        orderBody(i % 5 === 0 ? 'tok_chargeDeclined' : 'tok_visa', [{ sku: 'SKU-A', quantity: 1 }], `cus_${i}`),
      );
      expect(status).toBe(201);
      if (i % 7 === 0) await fetch(`${deployment.base}/orders/${id}/cancel`, { method: 'POST', headers: clientHeaders(API_KEY) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
}

function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  return waitFor(what, check, 90_000, 50);
}

async function expectEveryEventDelivered(): Promise<void> {
  await waitUntilSettled(deployment.db, deployment.queues, { timeoutMs: 90_000 });
  await until('every webhook delivery', async () => (await pendingDeliveries(deployment.db)) === 0);
  expect(await invariantViolations(deployment.db, { initialStock: STOCK })).toEqual([]);
  expect(await webhookViolations(deployment.db, receiver, [{ path: '/erp', events: ALL }])).toEqual([]);
}

describe('outbound webhooks under damage', { timeout: 180_000 }, () => {
  it('a worker SIGKILLed in the middle of deliveries: every event still arrives, copies under one webhook-id', async () => {
    receiver.latencyMs = 30;
    const flowing = placeOrders(40);
    await until('deliveries in flight', () => receiver.arrivals.length >= 20);
    const victim = workers.shift()!;
    expect(await victim.kill('SIGKILL')).toBeNull();
    await flowing;
    workers.push(await deployment.startProcess('worker'));
    await expectEveryEventDelivered();
  });

  it('Redis wiped while deliveries wait for their retries: the re-drive sends them from the database', async () => {
    receiver.latencyMs = 0;
    await receiver.down();
    await placeOrders(30);
    await until('deliveries waiting on retries', async () => {
      const n = await sqlNumber(
        deployment.db,
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING' AND attempts >= 1",
      );
      return n >= 30;
    });
    await deployment.watcher.flushall();
    const before = receiver.received.length;
    await receiver.up();
    await expectEveryEventDelivered();
    expect(receiver.received.length).toBeGreaterThan(before);
  });
});
