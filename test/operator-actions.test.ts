/**
 * Who did what, and every attempt: each operator action (a cancel from the console or the API, a
 * retry one by one or in bulk, a requeue from the CLI, a re-drive) lands on the order's timeline
 * with its actor; each failed attempt of a job is kept (bounded) and shown; and a failed job of an
 * order that has ended since stops asking for attention. The sandbox's inputs that keep failing
 * (a carrier down for a postal code, a gateway down for a token, a notifier that cannot reach a
 * customer) make the stuck orders to try it on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeyId } from '../src/api/api-keys.ts';
import { FAILED_ATTEMPTS_KEPT, failedAttemptsOf, recordFailedAttempt } from '../src/db/failed-attempts.ts';
import { operatorActionsOf } from '../src/db/operator-actions.ts';
import { jobsOf } from '../src/queues/inspect.ts';
import { CARRIER_DOWN_POSTAL_CODE } from '../src/sandbox/carrier.ts';
import { UNREACHABLE_RECIPIENT } from '../src/sandbox/notifier.ts';
import { GATEWAY_DOWN_TOKEN } from '../src/sandbox/payment-gateway.ts';
import { cliEnv, runCli } from './support/cli.ts';
import { ADDRESS, ADMIN_TOKEN, API_KEY, Harness, orderBody } from './support/harness.ts';

const BASIC = `Basic ${Buffer.from(`operator:${ADMIN_TOKEN}`).toString('base64')}`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  h = await Harness.start({ ...options, env: { JOB_ATTEMPTS: '2', ...options.env } });
  await h.putProduct('SKU-1', 10);
  return h;
}

function browse(harness: Harness, path: string, fields?: Record<string, string | string[]>) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields ?? {})) for (const v of [value].flat()) body.append(name, v);
  return fetch(`${harness.base}${path}`, {
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
    ...(fields ? { method: 'POST', body: body.toString() } : {}),
    headers: { authorization: BASIC, ...(fields ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

const failedState = async (harness: Harness, queue: 'payment' | 'shipping' | 'notification', jobId: string) =>
  (await harness.service.queues[queue].getJob(jobId))?.getState();

describe('every failed attempt', () => {
  it('is kept, the transient ones before a success too, and shown on the order’s page', async () => {
    const h = await start({ env: { JOB_ATTEMPTS: '10' } });
    const placed = await h.placeOrder(orderBody('tok_flaky'));
    await h.waitForStatus(placed.id, 'SHIPPED');
    const attempts = await failedAttemptsOf(h.db, placed.id);
    expect(attempts.map((a) => [a.queue, a.event, a.attempt])).toEqual([
      ['payment', 'OrderPlaced', 1],
      ['payment', 'OrderPlaced', 2],
    ]);
    expect(attempts[0]!.error).toBe('payment gateway unavailable, try again');
    const page = await (await browse(h, `/admin/console/orders/${placed.id}`)).text();
    expect(page).toContain('Failed attempts');
    expect(page).toContain('payment gateway unavailable, try again');
  });

  it(`keeps the latest ${FAILED_ATTEMPTS_KEPT} of a job, however often it is retried`, async () => {
    const h = await start({ queues: [] });
    const placed = await h.placeOrder();
    const jobId = `${placed.id}-OrderPlaced-payment`;
    for (let attempt = 1; attempt <= FAILED_ATTEMPTS_KEPT + 5; attempt++) {
      await recordFailedAttempt(h.db, {
        orderId: placed.id,
        queue: 'payment',
        jobId,
        event: 'OrderPlaced',
        attempt,
        error: `e${attempt}`,
        at: attempt,
      });
    }
    const kept = await failedAttemptsOf(h.db, placed.id);
    expect(kept).toHaveLength(FAILED_ATTEMPTS_KEPT);
    expect(kept[0]!.error).toBe('e6');
    expect(kept.at(-1)!.error).toBe(`e${FAILED_ATTEMPTS_KEPT + 5}`);
  });
});

describe('operator actions on the timeline', () => {
  it('a carrier down for a postal code parks the order; a bulk retry and a cancel go on its timeline with their actors, and once it ended its job asks for nothing', async () => {
    const h = await start();
    const placed = await h.placeOrder({ ...orderBody(), shippingAddress: { ...ADDRESS, postalCode: CARRIER_DOWN_POSTAL_CODE } });
    const jobId = `${placed.id}-InventoryReserved-shipping`;
    await waitUntil('the shipping job fails for good', async () => (await failedState(h, 'shipping', jobId)) === 'failed');
    expect((await h.getOrder(placed.id)).status).toBe('AWAITING_SHIPMENT');

    // The home page lists it and offers to retry what it lists, in one go.
    const home = await (await browse(h, '/admin')).text();
    expect(home).toContain(`value="${jobId}"`);
    expect(home).toContain('Retry these 1 job');
    const retried = await browse(h, '/admin/console/failed/retry', { job: [jobId] });
    expect(retried.status).toBe(303);
    expect(retried.headers.get('location')).toBe('/admin?done=retried-many&n=1&of=1');
    expect(await (await browse(h, retried.headers.get('location')!)).text()).toContain('Retried 1 of 1 failed job');
    // The carrier is still down: it fails again, and every attempt is kept.
    await waitUntil('the retried job fails again', async () => (await failedAttemptsOf(h.db, placed.id)).length === 4);
    await waitUntil('…for good', async () => (await failedState(h, 'shipping', jobId)) === 'failed');
    expect((await failedAttemptsOf(h.db, placed.id)).map((a) => a.error)).toEqual(
      Array(4).fill(`carrier unavailable for postal code ${CARRIER_DOWN_POSTAL_CODE} (sandbox)`),
    );

    // The storefront gives up on it: a cancel through the API, by its key.
    expect((await h.request('POST', `/orders/${placed.id}/cancel`)).status).toBe(200);
    await h.settle();
    expect(await h.getOrder(placed.id)).toMatchObject({ status: 'CANCELLED', payment: { status: 'REFUNDED' } });
    expect(await operatorActionsOf(h.db, placed.id)).toEqual([
      { action: 'retry', actor: 'admin', jobId, outcome: 'retried', at: expect.any(Number) },
      { action: 'cancel', actor: `api-key:${apiKeyId(API_KEY)}`, jobId: null, outcome: 'cancelled', at: expect.any(Number) },
    ]);

    // Ended, with nothing left to settle: its failed job offers no retry and needs no attention.
    const page = await (await browse(h, `/admin/console/orders/${placed.id}`)).text();
    expect(page).toContain('Operator retry');
    expect(page).toContain(`api-key:${apiKeyId(API_KEY)}`);
    expect(page).not.toMatch(/<button type="submit">Retry<\/button>/);
    const after = await (await browse(h, '/admin')).text();
    expect(after).not.toContain(`value="${jobId}"`);
    expect(after).toContain('Not listed: 1 failed job of orders that have ended since');
  });

  it('a requeue from the CLI and a re-drive by the reconciler are recorded as cli and reconciler', async () => {
    const h = await start({ queues: ['payment', 'payment-deadline'], env: { STUCK_AFTER_MS: '1' } });
    const down = await h.placeOrder(orderBody(GATEWAY_DOWN_TOKEN));
    const jobId = `${down.id}-OrderPlaced-payment`;
    await waitUntil('the payment job fails for good', async () => (await failedState(h, 'payment', jobId)) === 'failed');
    const requeued = await runCli(['requeue', jobId], cliEnv(h));
    expect(requeued.stderr).toBe('');
    expect(requeued.code).toBe(0);
    expect(await operatorActionsOf(h.db, down.id)).toMatchObject([
      { action: 'requeue', actor: 'cli', jobId, outcome: 'requeued' },
    ]);

    // An order left in PAID (no inventory worker) is re-driven, and says by whom.
    const paid = await h.placeOrder();
    await h.waitForStatus(paid.id, 'PAID');
    // Stuck once still for STUCK_AFTER_MS with its last event dispatched: pass until it is.
    await waitUntil('the reconciler re-drives it', async () => (await h.reconcile()).some((r) => r.orderId === paid.id));
    expect(await operatorActionsOf(h.db, paid.id)).toMatchObject([
      { action: 'redrive', actor: 'reconciler', outcome: 'PaymentSucceeded' },
    ]);
  });

  it('a notifier that cannot reach a customer leaves a failed notification job, retried from the order’s page by the admin', async () => {
    const h = await start();
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }], UNREACHABLE_RECIPIENT));
    const jobId = `${placed.id}-InventoryReserved-notification`;
    await waitUntil('the confirmation fails for good', async () => (await failedState(h, 'notification', jobId)) === 'failed');
    const res = await browse(h, `/admin/console/orders/${placed.id}/retry`, { job: jobId });
    expect(res.headers.get('location')).toBe(`/admin/console/orders/${placed.id}?done=retried&job=${jobId}`);
    expect(await operatorActionsOf(h.db, placed.id)).toMatchObject([
      { action: 'retry', actor: 'admin', jobId, outcome: 'retried' },
    ]);
  });
});

describe('the console’s smaller answers', () => {
  it('finds an order by its tracking number and by the customer’s email, and says when none has them', async () => {
    const h = await start();
    const placed = await h.placeOrder({ ...orderBody(), email: 'ada@example.com' });
    const shipped = await h.waitForStatus(placed.id, 'SHIPPED');
    const byTracking = await browse(h, `/admin/console/search?q=${shipped.shipment!.trackingNumber.toLowerCase()}`);
    expect(byTracking.status).toBe(303);
    expect(byTracking.headers.get('location')).toBe(`/admin/console/orders/${placed.id}`);
    expect((await browse(h, '/admin/console/search?q=TRK000000000')).status).toBe(404);
    const byEmail = await browse(h, '/admin/console/search?q=ada%40example.com');
    expect(byEmail.status).toBe(200);
    const list = await byEmail.text();
    expect(list).toContain('Orders with email ada@example.com');
    expect(list).toContain(placed.id);
    expect(await (await browse(h, '/admin/console/search?q=nobody%40example.com')).text()).toContain('No order matches.');
  });

  it('shows a shipped order’s payment deadline as not needed, not as a job it waits on', async () => {
    const h = await start();
    const placed = await h.placeOrder();
    await h.waitForStatus(placed.id, 'SHIPPED');
    const deadline = `${placed.id}-PaymentTimeoutDue-payment-deadline`;
    expect(await h.service.queues['payment-deadline'].getJobState(deadline)).toBe('delayed');
    const page = await (await browse(h, `/admin/console/orders/${placed.id}`)).text();
    const row = page.slice(page.indexOf('<td>payment-deadline</td>'));
    expect(row.slice(0, row.indexOf('</tr>'))).toContain('not needed');
  });

  it('reads a job just retried as one: its new state with its new attempts', async () => {
    const h = await start({ queues: ['payment', 'payment-deadline'] });
    const down = await h.placeOrder(orderBody(GATEWAY_DOWN_TOKEN));
    const jobId = `${down.id}-OrderPlaced-payment`;
    await waitUntil('the payment job fails for good', async () => (await failedState(h, 'payment', jobId)) === 'failed');
    await h.service.queues.payment.pause(); // it stays where the retry puts it
    expect((await browse(h, `/admin/console/orders/${down.id}/retry`, { job: jobId })).status).toBe(303);
    const job = (await jobsOf(h.service.queues, down.id, ['OrderPlaced'])).find((j) => j.id === jobId)!;
    expect(job).toMatchObject({ state: 'waiting', attempts: 0 });
  });
});
