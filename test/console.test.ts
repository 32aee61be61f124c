/**
 * The console over plain HTTP: who may see it and how a browser is asked to sign in, what a page
 * may load, search and filters, the actions' answers, and pages that still render, with what
 * the database knows, while Redis is down or frozen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorActionsOf } from '../src/db/operator-actions.ts';
import { startRedisServer, type TestRedis } from './support/redis-server.ts';
import { ADMIN_TOKEN, Harness, orderBody, type OrderJson } from './support/harness.ts';

const BASIC = `Basic ${Buffer.from(`operator:${ADMIN_TOKEN}`).toString('base64')}`;

let h: Harness;
let order: OrderJson;

beforeAll(async () => {
  h = await Harness.start({ queues: [] });
  await h.putProduct('SKU-1', 100);
  order = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }], 'cus_console'));
});

afterAll(async () => {
  await h?.stop();
});

function browse(harness: Harness, path: string, init: RequestInit = {}) {
  return fetch(`${harness.base}${path}`, {
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
    ...init,
    headers: { authorization: BASIC, ...(init.headers as Record<string, string> | undefined) },
  });
}

function form(fields: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: BASIC },
  };
}

describe('the console over HTTP', () => {
  it.each(['/admin', '/admin/console/orders', `/admin/console/orders/ord_01JD5ZQ0N6W8J7Y3K2V1B0C9XA`])(
    'asks a browser for Basic credentials at %s, and shows nothing without them',
    async (path) => {
      const res = await fetch(`${h.base}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect(await res.text()).not.toContain('Stuck orders');
      const wrong = await fetch(`${h.base}${path}`, { headers: { authorization: 'Basic b3A6d3Jvbmc=' } });
      expect(wrong.status).toBe(401);
    },
  );

  it('serves its pages with the token as Bearer or as the Basic password, loading nothing from elsewhere', async () => {
    for (const authorization of [BASIC, `Bearer ${ADMIN_TOKEN}`]) {
      const res = await browse(h, '/admin', { headers: { authorization } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const policy = res.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("default-src 'none'");
      expect(policy).toContain("style-src 'self'");
      const html = await res.text();
      expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
      // Every src and href points into this service.
      const urls = [...html.matchAll(/(?:src|href|action)="([^"]*)"/g)].map((m) => m[1]!);
      expect(urls.length).toBeGreaterThan(5);
      for (const url of urls) expect(url).toMatch(/^\//);
      expect(html).not.toMatch(/@import|url\(/);
    }
    const slash = await browse(h, '/admin/');
    expect(slash.status).toBe(308);
    expect(slash.headers.get('location')).toBe('/admin');
    const css = await browse(h, '/admin/console/assets/console.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).not.toMatch(/@import|url\(|@font-face/);
  });

  it('opens an order from a search by its id, and lists a customer’s orders from a search by customer id', async () => {
    const byId = await browse(h, `/admin/console/search?q=${order.id}`);
    expect(byId.status).toBe(303);
    expect(byId.headers.get('location')).toBe(`/admin/console/orders/${order.id}`);

    const byCustomer = await browse(h, '/admin/console/search?q=%20cus_console%20');
    expect(byCustomer.status).toBe(303);
    expect(byCustomer.headers.get('location')).toBe('/admin/console/orders?customerId=cus_console');
    const list = await browse(h, byCustomer.headers.get('location')!);
    expect(await list.text()).toContain(order.id);

    const unknown = await browse(h, '/admin/console/search?q=ord_01JD5ZQ0N6W8J7Y3K2V1B0C9XA');
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('No order has the id');
    expect((await browse(h, '/admin/console/orders/ord_nope')).status).toBe(404);
  });

  it('refuses a bad filter with a 400 page naming the field', async () => {
    const res = await browse(h, '/admin/console/orders?status=LOST');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('status:');
    // Empty fields of the filter form mean "any".
    expect((await browse(h, '/admin/console/orders?status=&customerId=&limit=')).status).toBe(200);
  });

  it('retries only a job of the order on its page', async () => {
    const other = `ord_01JD5ZQ0N6W8J7Y3K2V1B0C9XA-InventoryReserved-shipping`;
    for (const job of [other, `${order.id}-OrderPlaced-nowhere`, '']) {
      const res = await browse(h, `/admin/console/orders/${order.id}/retry`, form({ job }));
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=retry-unknown`);
    }
    // A job of the order that has not failed is not retried.
    const waiting = await browse(h, `/admin/console/orders/${order.id}/retry`, form({ job: `${order.id}-OrderPlaced-payment` }));
    expect(waiting.headers.get('location')).toMatch(/done=retry-(not-failed|absent)/);
  });

  it('cancels by the API’s rule and says so on the order’s page', async () => {
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }], 'cus_console'));
    // Without the confirmation box ticked, nothing happens.
    const unconfirmed = await browse(h, `/admin/console/orders/${placed.id}/cancel`, form({}));
    expect(unconfirmed.headers.get('location')).toBe(`/admin/console/orders/${placed.id}?done=cancel-unconfirmed`);
    expect((await h.getOrder(placed.id)).status).toBe('CREATED');
    const res = await browse(h, `/admin/console/orders/${placed.id}/cancel`, form({ confirm: 'yes' }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/admin/console/orders/${placed.id}?done=cancelled`);
    expect(await h.getOrder(placed.id)).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' });
    const page = await (await browse(h, res.headers.get('location')!)).text();
    expect(page).toContain('The order is cancelled');

    const again = await browse(h, `/admin/console/orders/${placed.id}/cancel`, form({ confirm: 'yes' }));
    expect(again.headers.get('location')).toBe(`/admin/console/orders/${placed.id}?done=already-cancelled`);
    expect(
      (await browse(h, '/admin/console/orders/ord_01JD5ZQ0N6W8J7Y3K2V1B0C9XA/cancel', form({ confirm: 'yes' }))).status,
    ).toBe(404);

    // Both cancels are on the order's timeline, by the admin, with what came of each.
    expect(await operatorActionsOf(h.db, placed.id)).toEqual([
      { action: 'cancel', actor: 'admin', jobId: null, outcome: 'cancelled', at: expect.any(Number) },
      { action: 'cancel', actor: 'admin', jobId: null, outcome: 'already-cancelled', at: expect.any(Number) },
    ]);
    const timeline = await (await browse(h, `/admin/console/orders/${placed.id}`)).text();
    expect(timeline).toMatch(/Operator cancel<\/td><td colspan="2">by <strong class="mono">admin<\/strong>/);
  });

  it('shows no message but its own: an outcome code it does not know is ignored', async () => {
    const html = await (await browse(h, `/admin/console/orders/${order.id}?done=%3Cscript%3E&job=%3Cb%3E`)).text();
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('class="notice ok"');
  });
});

describe('the console while Redis is away', () => {
  let redis: TestRedis;
  let own: Harness;
  let placed: OrderJson;

  beforeAll(async () => {
    redis = await startRedisServer();
    own = await Harness.start({ redisUrl: redis.url, queues: [] });
    await own.putProduct('SKU-1', 100);
    placed = await own.placeOrder(orderBody());
  });

  afterAll(async () => {
    redis?.process.kill('SIGCONT');
    await own?.stop();
    await redis?.stop();
  });

  it('renders the home and an order’s page from the database while Redis is frozen, and says what it could not ask', async () => {
    redis.process.kill('SIGSTOP');
    try {
      const home = await browse(own, '/admin');
      expect(home.status).toBe(200);
      const html = await home.text();
      expect(html).toContain('Failed jobs unknown');
      expect(html).toContain('Redis did not answer within 2000 ms');
      expect(html).toContain(placed.id);

      const page = await browse(own, `/admin/console/orders/${placed.id}`);
      expect(page.status).toBe(200);
      const text = await page.text();
      expect(text).toContain('Jobs unknown');
      expect(text).toContain('OrderPlaced');

      const retry = await browse(
        own,
        `/admin/console/orders/${placed.id}/retry`,
        form({ job: `${placed.id}-OrderPlaced-payment` }),
      );
      expect(retry.status).toBe(303);
      expect(retry.headers.get('location')).toContain('done=redis-unavailable');

      const counts = await browse(own, '/admin/console/counts');
      expect(await counts.json()).toMatchObject({ total: 1, failedJobs: null, redisError: expect.stringContaining('2000 ms') });
    } finally {
      redis.process.kill('SIGCONT');
    }
  });

  it('renders them while Redis is down', async () => {
    await redis.stop();
    const home = await browse(own, '/admin');
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('Failed jobs unknown');
    expect(html).toContain(placed.id);
    expect((await browse(own, `/admin/console/orders/${placed.id}`)).status).toBe(200);
  });
});
