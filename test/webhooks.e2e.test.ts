/**
 * Outbound webhooks end to end, on either engine: the real service, a real HTTP receiver in the
 * test verifying every message with the `standardwebhooks` package, and receivers that fail in
 * each way integrators' systems do. After each, every committed event reached each subscribed
 * endpoint at least once, nothing arrived for a change that did not commit, copies of one event
 * share its `webhook-id`, and the orders moved on regardless.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../src/domain/webhook-events.ts';
import { QUEUE_NAMES } from '../src/queues/routing.ts';
import { ADMIN_TOKEN, Harness, orderBody } from './support/harness.ts';
import { sqlNumber, sqlRows } from './support/store.ts';
import { pendingDeliveries, webhookViolations } from './support/webhook-invariants.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const ALL = [...WEBHOOK_EVENT_TYPES];
/** Retries in tens of milliseconds, so that a test about retries does not wait minutes. */
const FAST_RETRIES = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_DELAY_MS: '400',
  WEBHOOK_TIMEOUT_MS: '1000',
};

let h: Harness;
let receiver: WebhookReceiver;

beforeEach(async () => {
  receiver = await WebhookReceiver.start();
});

afterEach(async () => {
  await h?.stop();
  await receiver.stop();
});

async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Registers an endpoint for `path`, and tells the receiver its secret. */
async function subscribe(path: string, events: readonly string[]): Promise<{ id: string; secret: string }> {
  const res = await h.admin('POST', '/webhook-endpoints', { url: receiver.url(path), events, description: path });
  expect(res.status, res.text).toBe(201);
  receiver.trust(path, res.json.secret);
  return res.json;
}

async function shipOrders(count: number, token = 'tok_visa'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await h.placeOrder(orderBody(token))).id);
  return ids;
}

const allDelivered = async () => (await pendingDeliveries(h.db)) === 0;

describe('outbound webhooks', () => {
  it('an integrator receives every order event it subscribed to, signed, with the order as GET shows it and its version', async () => {
    h = await Harness.start({ env: FAST_RETRIES });
    await h.putProduct('SKU-1', 10);
    const all = await subscribe('/all', ALL);
    await subscribe('/shipped', ['order.shipped']);
    expect(all.secret).toMatch(/^whsec_/);

    const [paid, other] = await shipOrders(2);
    const declined = (await h.placeOrder(orderBody('tok_chargeDeclined'))).id;
    const shipped = await h.waitForStatus(paid!, 'SHIPPED');
    await h.waitForStatus(other!, 'SHIPPED');
    await h.waitForStatus(declined, 'FAILED');
    expect((await h.deliver(shipped.shipment!.trackingNumber)).status).toBe(200);
    await h.waitForStatus(paid!, 'COMPLETED');
    await h.settle();
    await until('every delivery', allDelivered);

    const subscriptions = [
      { path: '/all', events: ALL },
      { path: '/shipped', events: ['order.shipped'] },
    ];
    expect(await webhookViolations(h.db, receiver, subscriptions)).toEqual([]);

    const ofPaid = receiver.at('/all').filter((r) => r.orderId === paid);
    expect(ofPaid.map((r) => r.type)).toEqual(
      expect.arrayContaining(['order.created', 'order.paid', 'order.stock_reserved', 'order.shipped', 'order.delivered']),
    );
    const versions = [...ofPaid].sort((a, b) => a.version - b.version);
    expect(versions.at(-1)!.type).toBe('order.delivered');
    expect(new Set(ofPaid.map((r) => r.version)).size).toBe(ofPaid.length);
    // The last event shows the order as it is now, field for field.
    expect(versions.at(-1)!.body.data.order).toEqual(await h.getOrder(paid!));
    expect(versions.at(-1)!.body).toMatchObject({ id: versions.at(-1)!.webhookId, type: 'order.delivered' });
    expect(
      receiver
        .at('/all')
        .filter((r) => r.orderId === declined)
        .map((r) => r.type),
    ).toEqual(expect.arrayContaining(['order.created', 'order.payment_failed', 'order.failed']));
    expect(new Set(receiver.at('/shipped').map((r) => r.type))).toEqual(new Set(['order.shipped']));
    expect(receiver.at('/shipped')).toHaveLength(2);

    // What was delivered where, per order and per endpoint.
    const res = await h.admin('GET', `/webhook-endpoints/${all.id}/deliveries?status=DELIVERED`);
    expect(res.status).toBe(200);
    expect(
      res.json.deliveries.every((d: { status: string; attempts: number }) => d.status === 'DELIVERED' && d.attempts >= 1),
    ).toBe(true);
    const endpoint = await h.admin('GET', `/webhook-endpoints/${all.id}`);
    expect(endpoint.json).not.toHaveProperty('secret');
  });

  it('a receiver that is down for a while gets every event once it answers again, and the orders did not wait for it', async () => {
    h = await Harness.start({ env: FAST_RETRIES });
    await h.putProduct('SKU-1', 10);
    const endpoint = await subscribe('/down', ALL);
    await receiver.down();
    const ids = await shipOrders(3);
    for (const id of ids) await h.waitForStatus(id, 'SHIPPED');
    await until('deliveries retried against the closed port', async () => {
      const retried = await sqlNumber(h.db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING' AND attempts >= 2");
      return retried >= 3;
    });
    expect(receiver.at('/down')).toHaveLength(0);
    // The metrics say how long the endpoint has been owed events, and /readyz does not care.
    const owed = await h.request('GET', '/metrics');
    expect(owed.text).toMatch(new RegExp(`orders_webhook_oldest_pending_seconds\\{endpoint="${endpoint.id}"\\} [0-9.]+`));
    expect(owed.text).toMatch(/orders_webhook_deliveries_total\{outcome="retried"\} [1-9]/);
    expect((await h.request('GET', '/readyz')).status).toBe(200);
    await receiver.up();
    await until('every delivery', allDelivered);
    expect((await h.request('GET', '/metrics')).text).toMatch(/orders_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
    expect(await webhookViolations(h.db, receiver, [{ path: '/down', events: ALL }])).toEqual([]);
  });

  it('a receiver that answers 500 twice then 200 gets the event on the third attempt, under one webhook-id', async () => {
    h = await Harness.start({ env: FAST_RETRIES });
    await h.putProduct('SKU-1', 10);
    const flaky = await subscribe('/flaky', ['order.created']);
    receiver.answer('/flaky', [500, 500, 200]);
    const [id] = await shipOrders(1);
    await until('the delivery', allDelivered);
    const tries = receiver.arrivals.filter((a) => a.path === '/flaky');
    expect(tries.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(new Set(tries.map((a) => a.webhookId)).size).toBe(1);
    const [row] = await sqlRows<{ attempts: number; status: string; last_status_code: number }>(
      h.db,
      'SELECT attempts, status, last_status_code FROM webhook_deliveries WHERE order_id = ?',
      id,
    );
    expect(row).toMatchObject({ status: 'DELIVERED', last_status_code: 200 });
    expect(Number(row!.attempts)).toBe(3);
    // Every attempt is in the delivery's history, as the admin API shows it.
    const [delivery] = (await h.admin('GET', `/webhook-endpoints/${flaky.id}/deliveries`)).json.deliveries;
    const shown = await h.admin('GET', `/webhook-deliveries/${delivery.id}`);
    expect(shown.status, shown.text).toBe(200);
    expect(shown.json).toMatchObject({ id: delivery.id, status: 'DELIVERED', attempts: 3 });
    expect(
      shown.json.history.map((a: { number: number; statusCode: number; outcome: string }) => [a.number, a.statusCode, a.outcome]),
    ).toEqual([
      [1, 500, 'retry'],
      [2, 500, 'retry'],
      [3, 200, 'delivered'],
    ]);
    expect(shown.json.history[0].error).toMatch(/^answered 500/);
    expect(shown.json.history[2].error).toBeNull();
    for (const a of shown.json.history) expect(a.durationMs).toBeGreaterThanOrEqual(0);
    expect((await h.admin('GET', '/webhook-deliveries/dlv_nothing')).status).toBe(404);
    expect(await webhookViolations(h.db, receiver, [{ path: '/flaky', events: ['order.created'] }])).toEqual([]);
  });

  it('a receiver that hangs holds neither the orders nor another endpoint', async () => {
    h = await Harness.start({ env: { ...FAST_RETRIES, WEBHOOK_ENDPOINT_CONCURRENCY: '2', WEBHOOK_CONCURRENCY: '4' } });
    await h.putProduct('SKU-1', 20);
    await subscribe('/hang', ALL);
    await subscribe('/ok', ALL);
    receiver.answer('/hang', 'hang');
    const ids = await shipOrders(5);
    for (const id of ids) await h.waitForStatus(id, 'SHIPPED');
    await until(
      'everything at /ok',
      async () => (await webhookViolations(h.db, receiver, [{ path: '/ok', events: ALL }])).length === 0,
    );
    expect(receiver.at('/hang')).toHaveLength(0);
    // Everything else went through while the hanging receiver held its attempts; they end at the timeout.
    const stuck = await until('a hanging attempt given up at the timeout', async () => {
      const rows = await sqlRows<{ last_error: string | null; status: string }>(
        h.db,
        "SELECT d.last_error, d.status FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.description = '/hang' AND d.attempts > 0",
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(stuck[0]!.last_error).toMatch(/no answer within 1000 ms/);
    expect(stuck[0]!.status).toBe('PENDING');
  });

  it('410 Gone disables the endpoint at once; enabled again, what was given up can be sent again', async () => {
    h = await Harness.start({ env: FAST_RETRIES });
    await h.putProduct('SKU-1', 10);
    const gone = await subscribe('/gone', ['order.created', 'order.paid']);
    receiver.answer('/gone', 410);
    await shipOrders(1);
    const disabled = await until('the endpoint disabled', async () => {
      const res = await h.admin('GET', `/webhook-endpoints/${gone.id}`);
      return res.json.enabled === false ? res.json : undefined;
    });
    expect(disabled.disabledReason).toMatch(/410/);
    await h.settle();
    await until('every delivery settled', allDelivered);
    const given = await h.admin('GET', `/webhook-endpoints/${gone.id}/deliveries?status=GIVEN_UP`);
    expect(given.json.deliveries.length).toBeGreaterThanOrEqual(1);
    // No delivery is even written for it while it is disabled.
    const before = await sqlNumber(h.db, 'SELECT count(*) FROM webhook_deliveries');
    await shipOrders(1);
    await h.settle();
    expect(await sqlNumber(h.db, 'SELECT count(*) FROM webhook_deliveries')).toBe(before);

    receiver.answer('/gone', 200);
    expect((await h.admin('PATCH', `/webhook-endpoints/${gone.id}`, { enabled: true })).json.enabled).toBe(true);
    const resent = await h.admin('POST', `/webhook-endpoints/${gone.id}/resend-given-up`);
    expect(resent.json.resent).toBe(given.json.deliveries.length);
    await until('the resent deliveries', allDelivered);
    expect(receiver.at('/gone').length).toBe(given.json.deliveries.length);
    // The history of the delivery that met the 410 keeps it before the resend's success, numbered
    // on (a delivery given up because the endpoint was disabled meanwhile made no attempt then).
    const met = given.json.deliveries.find((d: { lastStatusCode: number | null }) => d.lastStatusCode === 410);
    const history = (await h.admin('GET', `/webhook-deliveries/${met.id}`)).json.history;
    expect(
      history.map((a: { number: number; statusCode: number; outcome: string }) => [a.number, a.statusCode, a.outcome]),
    ).toEqual([
      [1, 410, 'gone'],
      [2, 200, 'delivered'],
    ]);

    // Deleted, the endpoint goes with its deliveries and their attempts.
    expect((await h.admin('DELETE', `/webhook-endpoints/${gone.id}`)).status).toBe(204);
    expect((await h.admin('GET', `/webhook-endpoints/${gone.id}`)).status).toBe(404);
    expect(await sqlNumber(h.db, 'SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?', gone.id)).toBe(0);
    expect(await sqlNumber(h.db, 'SELECT count(*) FROM webhook_attempts')).toBe(0);
  });

  it('no event is sent for a change that rolled back: the reservation that lost the race for the last unit', async () => {
    h = await Harness.start({ env: FAST_RETRIES, queues: [] });
    await h.putProduct('SKU-1', 1);
    await subscribe('/all', ALL);
    // Both are placed while the unit is still on sale; only one reservation can commit.
    const ids = await shipOrders(2);
    h.startWorkers(QUEUE_NAMES);
    const ended = await Promise.all(ids.map((id) => h.waitForOrder(id, (o) => o.status === 'SHIPPED' || o.status === 'FAILED')));
    expect(ended.map((o) => o.status).sort()).toEqual(['FAILED', 'SHIPPED']);
    await h.settle();
    await until('every delivery', allDelivered);
    expect(await webhookViolations(h.db, receiver, [{ path: '/all', events: ALL }])).toEqual([]);
    const loser = ended.find((o) => o.status === 'FAILED')!.id;
    const ofLoser = receiver
      .at('/all')
      .filter((r) => r.orderId === loser)
      .map((r) => r.type);
    expect(ofLoser).not.toContain('order.stock_reserved');
    expect(ofLoser).toContain('order.failed');
  });

  it('a rotated secret keeps signing beside the new one for its grace period', async () => {
    h = await Harness.start({ env: FAST_RETRIES });
    await h.putProduct('SKU-1', 10);
    const endpoint = await subscribe('/rotated', ['order.created']);
    const rotated = await h.admin('POST', `/webhook-endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).not.toBe(endpoint.secret);
    expect(rotated.json.previousSecretExpiresAt).not.toBeNull();
    await shipOrders(1);
    await until('the delivery', allDelivered);
    const [message] = receiver.at('/rotated');
    expect(message!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [endpoint.secret, rotated.json.secret]) {
      expect(() => new Webhook(secret).verify(message!.raw, message!.headers)).not.toThrow();
    }
  });
});

describe('the console', () => {
  const BASIC = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
  const browse = (path: string, init: RequestInit = {}) =>
    fetch(`${h.base}${path}`, { redirect: 'manual', ...init, headers: { authorization: BASIC, ...(init.headers as object) } });

  it('shows an order’s deliveries and the endpoints, says why one was disabled, and resends from either page', async () => {
    h = await Harness.start({ env: FAST_RETRIES });
    await h.putProduct('SKU-1', 10);
    await subscribe('/erp', ['order.created']);
    const gone = await subscribe('/gone', ['order.created']);
    receiver.answer('/gone', 410);
    const [id] = await shipOrders(1);
    await until('the deliveries settled', allDelivered);

    const order = await (await browse(`/admin/console/orders/${id}`)).text();
    expect(order).toContain('Webhook deliveries');
    expect(order).toContain('order.created');
    expect(order).toContain('DELIVERED');
    expect(order).toContain('GIVEN UP');
    const list = await (await browse('/admin/console/webhooks')).text();
    expect(list).toContain('DISABLED');
    expect(list).toContain('answered 410 Gone');

    const [delivery] = (await h.admin('GET', `/webhook-endpoints/${gone.id}/deliveries`)).json.deliveries;
    receiver.answer('/gone', 200);
    await browse(`/admin/console/webhooks/endpoints/${gone.id}/enable`, { method: 'POST' });
    const resent = await browse(`/admin/console/webhooks/deliveries/${delivery.id}/resend`, {
      method: 'POST',
      body: new URLSearchParams({ back: `/admin/console/orders/${id}` }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(resent.status).toBe(303);
    expect(resent.headers.get('location')).toBe(`/admin/console/orders/${id}?done=webhook-resent`);
    await until('the resent delivery', allDelivered);
    expect(receiver.at('/gone')).toHaveLength(1);
    expect(receiver.at('/gone')[0]!.webhookId).toBe(delivery.eventId);

    // The delivery's own page, linked from the tables, lists its attempts and resends back to itself.
    const page = `/admin/console/webhooks/deliveries/${delivery.id}`;
    expect(await (await browse(`/admin/console/orders/${id}`)).text()).toContain(`href="${page}"`);
    const shown = await (await browse(page)).text();
    expect(shown).toContain('answered 410');
    expect(shown).toContain('>gone<');
    expect(shown).toContain('>delivered<');
    const again = await browse(`${page}/resend`, {
      method: 'POST',
      body: new URLSearchParams({ back: page }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(again.headers.get('location')).toBe(`${page}?done=resent`);
    expect((await browse('/admin/console/webhooks/deliveries/dlv_nothing')).status).toBe(404);
  });
});

describe('outbound webhooks without WEBHOOK_ALLOW_PRIVATE_TARGETS', () => {
  it('refuses an endpoint URL that is not https or points inside, naming the field', async () => {
    h = await Harness.start({ queues: [] });
    for (const url of [
      'http://example.com/hooks',
      'https://127.0.0.1/hooks',
      'https://localhost/hooks',
      'https://[::1]/hooks',
      'https://169.254.169.254/latest/meta-data',
      'https://10.1.2.3/hooks',
      'https://[::ffff:192.168.0.1]/hooks',
    ]) {
      const before = await sqlNumber(h.db, 'SELECT count(*) FROM webhook_endpoints');
      const res = await h.admin('POST', '/webhook-endpoints', { url, events: ['order.created'] });
      expect(res.status, url).toBe(422);
      expect(res.json.errors[0].field).toBe('url');
      expect(await sqlNumber(h.db, 'SELECT count(*) FROM webhook_endpoints')).toBe(before);
    }
  });

  it('refuses, at delivery, a name that resolves to a private address now', async () => {
    h = await Harness.start({ env: { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_MAX_DELAY_MS: '200' } });
    await h.putProduct('SKU-1', 10);
    // Registered while its name pointed elsewhere; it resolves to loopback now.
    const { sqlRun } = await import('./support/store.ts');
    for (const [id, url] of [
      ['we_01JD5ZQ0N6W8J7Y3K2V1B0C9XA', `https://localhost:${receiver.port}/inside`],
      ['we_01JD5ZQ0N6W8J7Y3K2V1B0C9XB', `https://127.0.0.1:${receiver.port}/literal`],
    ]) {
      await sqlRun(
        h.db,
        'INSERT INTO webhook_endpoints (id, url, description, events, secret, enabled, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?, 0, 0)',
        id,
        url,
        JSON.stringify(['order.created']),
        `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
        h.db.connection.engine === 'postgres' ? true : 1,
      );
    }
    await shipOrders(1);
    const refused = await until('attempts refused', async () => {
      const rows = await sqlRows<{ last_error: string | null }>(
        h.db,
        'SELECT last_error FROM webhook_deliveries WHERE attempts >= 2',
      );
      return rows.length === 2 ? rows : undefined;
    });
    for (const row of refused) expect(row.last_error).toMatch(/loopback address/);
    expect(receiver.hits.size).toBe(0);
  });
});
