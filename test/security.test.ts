/**
 * The doors, tried the way an attacker tries them: client routes without a key, with a wrong one
 * or with the admin token; admin actions forged from another site with the admin's Basic
 * credentials; Bull Board actions nobody needs; every refused character class, broken UTF-8,
 * compressed and non-UTF-8 bodies; made-up countries, sold-out SKUs and oversized totals; long
 * inputs echoed back; a webhook signed over something else than its bytes; CORS. Each refusal
 * writes nothing.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyId } from '../src/api/api-keys.ts';
import { crossSiteReason } from '../src/api/cross-site.ts';
import { COUNTRY_CODES } from '../src/api/schemas.ts';
import { SIGNATURE_CHALLENGE, signBody } from '../src/api/webhooks.ts';
import { ADDRESS, ADMIN_TOKEN, API_KEY, Harness, OTHER_API_KEY, WEBHOOK_SECRET, orderBody } from './support/harness.ts';
import { rawRequest } from './support/raw-http.ts';
import { sqlNumber, sqlRows } from './support/store.ts';

let h: Harness;

beforeAll(async () => {
  // The limits have their own suite (security-limits); here every wrong key must answer 401.
  h = await Harness.start({
    queues: [],
    env: { MAX_ORDER_TOTAL_CENTS: '50000', CORS_ORIGINS: 'https://shop.example', ADDRESS_RATE_LIMIT: '0' },
  });
  await h.putProduct('SKU-1', 1_000, 1_000);
  await h.putProduct('LAST-2', 2, 1_000);
});

afterAll(async () => {
  await h?.stop();
});

const basic = (password: string) => `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
const bearer = (key: string) => `Bearer ${key}`;
const count = (table: string) => sqlNumber(h.db, `SELECT count(*) AS n FROM ${table}`);

function expectProblem(res: { status: number; headers: Headers; json: any }, status: number) {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.json).toMatchObject({ status, type: expect.stringMatching(/^\/problems\//) });
}

describe('API keys on the client routes', () => {
  const CLIENT_ROUTES: [string, string, unknown?][] = [
    ['POST', '/orders', orderBody()],
    ['GET', '/orders/ord_anything'],
    ['GET', '/orders/ord_anything/events'],
    ['POST', '/orders/ord_anything/cancel'],
  ];
  const WRONG: [string, string | undefined][] = [
    ['no Authorization header', undefined],
    ['a wrong key', bearer('not-a-key-of-this-shop-000')],
    ['a key with one character more', bearer(`${API_KEY}x`)],
    ['a prefix of a key', bearer(API_KEY.slice(0, -1))],
    ['the admin token', bearer(ADMIN_TOKEN)],
    ['the key as a Basic password', basic(API_KEY)],
    ['the key without a scheme', API_KEY],
    ['an empty bearer', 'Bearer '],
  ];

  for (const [method, path, body] of CLIENT_ROUTES) {
    it.each(WRONG)(`${method} ${path} is refused with %s`, async (_what, authorization) => {
      const before = await h.rowCounts();
      const res = await h.request(method, path, body, authorization === undefined ? { authorization: '' } : { authorization });
      expect(res.status).toBe(401);
      expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orders"');
      expect(await h.rowCounts()).toEqual(before);
    });
  }

  it('opens with any of the configured keys, so that one can be rotated without downtime', async () => {
    const a = await h.request('POST', '/orders', orderBody(), { authorization: bearer(API_KEY) });
    const b = await h.request('POST', '/orders', orderBody(), { authorization: bearer(OTHER_API_KEY) });
    expect([a.status, b.status]).toEqual([201, 201]);
    // One shop, several storefronts: any valid key reads any order.
    expect((await h.request('GET', `/orders/${a.json.id}`, undefined, { authorization: bearer(OTHER_API_KEY) })).status).toBe(
      200,
    );
  });

  it('does not open /admin with an API key', async () => {
    const res = await h.request('GET', '/admin/products', undefined, { authorization: bearer(API_KEY) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/realm="orders-admin"/);
    const board = await h.request('GET', '/admin/queues/api/queues', undefined, { authorization: basic(API_KEY) });
    expect(board.status).toBe(401);
  });
});

describe('Idempotency-Key scoped per API key', () => {
  it('gives two storefronts that pick the same key two orders, and each its own replay', async () => {
    const headers = (key: string) => ({ authorization: bearer(key), 'idempotency-key': 'checkout-42' });
    const first = await h.request('POST', '/orders', orderBody(), headers(API_KEY));
    const other = await h.request('POST', '/orders', orderBody(), headers(OTHER_API_KEY));
    expect([first.status, other.status]).toEqual([201, 201]);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(other.json.id).not.toBe(first.json.id);

    const replay = await h.request('POST', '/orders', orderBody(), headers(API_KEY));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json.id).toBe(first.json.id);
    const otherReplay = await h.request('POST', '/orders', orderBody(), headers(OTHER_API_KEY));
    expect(otherReplay.json.id).toBe(other.json.id);
    // Another body under the same key is still refused, within one storefront.
    const mismatch = await h.request(
      'POST',
      '/orders',
      orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]),
      headers(OTHER_API_KEY),
    );
    expect(mismatch.status).toBe(422);
  });

  it('stores a short id of the API key beside the Idempotency-Key, never the key itself', async () => {
    const stored = (await sqlRows<{ key: string }>(h.db, 'SELECT key FROM idempotency_keys')).map((r) => r.key);
    expect(stored).toEqual(
      expect.arrayContaining([`${apiKeyId(API_KEY)}:checkout-42`, `${apiKeyId(OTHER_API_KEY)}:checkout-42`]),
    );
    for (const key of stored) {
      expect(key).not.toContain(API_KEY);
      expect(key).not.toContain(OTHER_API_KEY);
    }
  });
});

describe('admin is safe from other sites', () => {
  const forged = (headers: Record<string, string>) => ({ authorization: basic(ADMIN_TOKEN), ...headers });

  it('refuses a job added to Bull Board by a page on another site, with the admin’s Basic credentials', async () => {
    const before = await h.service.queues.notification.getJobCounts();
    const res = await h.request(
      'POST',
      '/admin/queues/api/queues/notification/add',
      JSON.stringify({ name: 'OrderShipped', data: { orderId: 'ord_victim' } }),
      forged({ origin: 'https://evil.example', 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' }),
    );
    expect(res.status).toBe(403);
    expectProblem(res, 403);
    expect(await h.service.queues.notification.getJobCounts()).toEqual(before);
  });

  it.each([
    ['an Origin of another site', { origin: 'https://evil.example' }],
    ['an Origin on this host under another port', { origin: 'http://127.0.0.1:1' }],
    ['Origin: null (a sandboxed frame)', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling host)', { 'sec-fetch-site': 'same-site' }],
  ])('refuses a product write with %s, and writes nothing', async (_what, headers) => {
    const before = await h.rowCounts();
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      const res = await h.request(method, '/admin/products/EVIL-1', { name: 'Free', priceCents: 0, stock: 1 }, forged(headers));
      expect(res.status, method).toBe(403);
      expectProblem(res, 403);
    }
    // Any route mounted under /admin later is covered too.
    expect((await h.request('POST', '/admin/orders/ord_x/cancel', undefined, forged(headers))).status).toBe(403);
    expect(await h.rowCounts()).toEqual(before);
  });

  it('lets the same origin, and clients that send no Origin (curl, the CLI), write', async () => {
    const own = await h.request(
      'PUT',
      '/admin/products/OWN-1',
      { name: 'Own', priceCents: 1, stock: 1 },
      forged({ origin: h.base, 'sec-fetch-site': 'same-origin' }),
    );
    expect(own.status).toBe(201);
    const curl = await h.request('PUT', '/admin/products/CURL-1', { name: 'Curl', priceCents: 1, stock: 1 }, forged({}));
    expect(curl.status).toBe(201);
    // A form on our own page, under Referrer-Policy: no-referrer, says Origin: null; the browser's
    // own Sec-Fetch-Site says where it really comes from.
    const ownForm = await h.request(
      'PUT',
      '/admin/products/FORM-1',
      { name: 'Form', priceCents: 1, stock: 1 },
      forged({ origin: 'null', 'sec-fetch-site': 'same-origin' }),
    );
    expect(ownForm.status).toBe(201);
  });

  it('lets reads through from anywhere (they change nothing, and CORS keeps their answers from the other site)', async () => {
    const res = await h.request(
      'GET',
      '/admin/products',
      undefined,
      forged({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }),
    );
    expect(res.status).toBe(200);
  });

  it('tells a cross-site request by Origin and Sec-Fetch-Site', () => {
    expect(crossSiteReason({ origin: 'http://admin.example', host: 'admin.example' })).toBeUndefined();
    expect(crossSiteReason({ origin: 'https://admin.example:8443', host: 'ADMIN.example:8443' })).toBeUndefined();
    expect(crossSiteReason({})).toBeUndefined();
    expect(crossSiteReason({ secFetchSite: 'none' })).toBeUndefined();
    expect(crossSiteReason({ origin: 'https://admin.example.evil', host: 'admin.example' })).toBeDefined();
    expect(crossSiteReason({ origin: 'not a url', host: 'admin.example' })).toBeDefined();
    expect(crossSiteReason({ secFetchSite: 'same-site', origin: 'http://admin.example', host: 'admin.example' })).toBeDefined();
  });
});

describe('Bull Board is read-only', () => {
  // The admin's own browser on the dashboard's own page.
  const board = (method: string, path: string, body?: unknown) =>
    h.request(method, `/admin/queues/api${path}`, body === undefined ? undefined : JSON.stringify(body), {
      authorization: basic(ADMIN_TOKEN),
      origin: h.base,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/json',
    });

  it.each([
    ['adding a job', 'POST', '/queues/notification/add', { name: 'OrderShipped', data: { orderId: 'ord_x' }, options: {} }],
    ['emptying a queue', 'PUT', '/queues/payment/empty', undefined],
    ['obliterating a queue', 'PUT', '/queues/payment/obliterate', {}],
    ['pausing a queue', 'PUT', '/queues/payment/pause', undefined],
    ['pausing every queue', 'PUT', '/queues/pause', undefined],
    ['promoting delayed jobs (a payment deadline run early)', 'PUT', '/queues/payment/promote', undefined],
    ['changing a job’s data', 'PATCH', '/queues/payment/job-1/update-data', { data: {} }],
    [
      'retrying the failed jobs (the console and the CLI do it, on the order’s timeline)',
      'PUT',
      '/queues/payment/retry/failed',
      undefined,
    ],
    ['retrying one job', 'PUT', '/queues/payment/kept-job/retry', undefined],
    ['cleaning the failed jobs', 'PUT', '/queues/payment/clean/failed', undefined],
    ['cleaning one job', 'PUT', '/queues/payment/kept-job/clean', undefined],
  ])('refuses %s, even to the admin on the same origin', async (_what, method, path, body) => {
    await h.service.queues.payment.add('PaymentTimedOut', { orderId: 'ord_kept' } as never, { jobId: 'kept-job', delay: 60_000 });
    const before = await h.service.queues.payment.getJobCounts();
    const beforeNotification = await h.service.queues.notification.getJobCounts();
    const res = await board(method, path, body);
    expect(res.status).toBe(403);
    expect(await h.service.queues.payment.getJobCounts()).toEqual(before);
    expect(await h.service.queues.notification.getJobCounts()).toEqual(beforeNotification);
    expect(await h.service.queues.payment.isPaused()).toBe(false);
  });

  it('shows every queue as read-only, and its page asks nothing of another host', async () => {
    const queues = await board('GET', '/queues');
    expect(queues.status).toBe(200);
    expect(queues.json.queues.length).toBeGreaterThan(0);
    for (const queue of queues.json.queues) expect(queue).toMatchObject({ readOnlyMode: true, allowRetries: false });
    const page = await h.request('GET', '/admin/queues', undefined, { authorization: basic(ADMIN_TOKEN) });
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const script = page.text.match(/src="(static\/js\/[^"]+)"/)![1];
    const served = await h.request('GET', `/admin/queues/${script}`, undefined, { authorization: basic(ADMIN_TOKEN) });
    expect(served.status).toBe(200);
    // A Web Worker started from the board's scripts may load the board's other scripts.
    expect(served.headers.get('content-security-policy')).toBe("default-src 'none'; script-src 'self'");
  });
});

describe('text hygiene', () => {
  const CLASSES: [string, string][] = [
    ['NUL', '\u0000'],
    ['a C0 control (ESC, clear screen)', '\u001b[2J'],
    ['a tab', '\t'],
    ['a newline', '\n'],
    ['DEL', '\u007f'],
    ['a C1 control (CSI)', '\u009b'],
    ['a C1 control (NEL)', '\u0085'],
    ['a left-to-right embedding', '\u202a'],
    ['a right-to-left override', '\u202e'],
    ['a first-strong isolate', '\u2068'],
    ['a pop directional isolate', '\u2069'],
  ];
  const FIELDS: [string, (bad: string) => unknown][] = [
    ['customerId', (bad) => ({ ...orderBody(), customerId: `cus_${bad}1` })],
    ['shippingAddress.name', (bad) => ({ ...orderBody(), shippingAddress: { ...ADDRESS, name: `Ada${bad}` } })],
    ['shippingAddress.line1', (bad) => ({ ...orderBody(), shippingAddress: { ...ADDRESS, line1: `${bad}12 Row` } })],
    ['payment.token', (bad) => ({ ...orderBody(), payment: { token: `tok_visa${bad}` } })],
  ];

  for (const [field, make] of FIELDS) {
    it.each(CLASSES)(`refuses ${field} with %s, with a 400 naming it`, async (_what, bad) => {
      const before = await h.rowCounts();
      const res = await h.request('POST', '/orders', make(bad));
      expect(res.status).toBe(400);
      expectProblem(res, 400);
      expect(res.json.errors).toContainEqual(
        expect.objectContaining({ field, message: expect.stringMatching(/control|bidirectional/) }),
      );
      expect(await h.rowCounts()).toEqual(before);
    });
  }

  it('refuses unsafe text in a field name, in a product name, and a lone surrogate', async () => {
    const key = await h.request('POST', '/orders', { ...orderBody(), 'evil\u202efield': 1 });
    expect(key.status).toBe(400);
    expect(key.json.errors[0].field).toBe('evil\\u{202e}field');
    const product = await h.admin('PUT', '/products/SKU-9', { name: 'Mug\u001b]0;title\u0007', priceCents: 1, stock: 1 });
    expect(product.status).toBe(400);
    expect(product.json.errors).toContainEqual(expect.objectContaining({ field: 'name' }));
    const surrogate = await h.request(
      'POST',
      '/orders',
      '{"customerId":"cus_\\ud800","items":[{"sku":"SKU-1","quantity":1}],"payment":{"token":"tok_visa"},"shippingAddress":' +
        JSON.stringify(ADDRESS) +
        '}',
    );
    expect(surrogate.status).toBe(400);
    expect(surrogate.json.errors).toContainEqual(
      expect.objectContaining({ field: 'customerId', message: expect.stringMatching(/surrogate/) }),
    );
  });

  it('refuses a body nested thousands of levels deep with a 4xx, not a 500', async () => {
    const deep = (n: number, inner: string) => '['.repeat(n) + inner + ']'.repeat(n);
    for (const body of [deep(30_000, '"\u0007"'), `{"customerId": ${deep(30_000, '1')}}`, `{"x${'"'}: ${deep(20_000, '{}')}}`]) {
      const res = await h.request('POST', '/orders', body);
      expect(res.status, res.text.slice(0, 200)).toBe(400);
    }
    const admin = await h.admin('PUT', '/products/DEEP-1', `{"name": ${deep(30_000, '"x"')}, "priceCents": 1, "stock": 1}`);
    expect(admin.status).toBe(400);
  });

  it.each([
    ['ESC', '%1B%5B2J'],
    ['DEL', '%7F'],
    ['a C1 control', '%C2%9B'],
    ['a right-to-left override', '%E2%80%AE'],
  ])('refuses a path parameter with %s, naming it', async (_what, encoded) => {
    for (const path of [`/orders/ord_${encoded}`, `/orders/ord_${encoded}/events`, `/orders/ord_${encoded}/cancel`]) {
      const res = await h.request(path.endsWith('cancel') ? 'POST' : 'GET', path);
      expect(res.status, path).toBe(400);
      expect(res.json.errors, path).toEqual([expect.objectContaining({ field: 'id' })]);
    }
    const query = await h.admin('GET', `/sandbox/payments?orderId=ord_${encoded}`);
    expect(query.status).toBe(400);
    expect(query.json.errors).toEqual([expect.objectContaining({ field: 'orderId' })]);
  });

  it('refuses a stored header (Idempotency-Key) with a C1 control or non-ASCII, naming it', async () => {
    const res = await rawRequest(`${h.base}/orders`, {
      method: 'POST',
      headers: { authorization: bearer(API_KEY), 'content-type': 'application/json', 'idempotency-key': 'key\u0085x' },
      body: JSON.stringify(orderBody()),
    });
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
  });

  it('refuses a body that is not UTF-8 with a 400, instead of storing replacement characters', async () => {
    const before = await h.rowCounts();
    const text = JSON.stringify({ ...orderBody(), customerId: 'cus_XX' });
    for (const bad of [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80] /* an encoded surrogate */, [0xe2, 0x82]]) {
      const [head, tail] = text.split('XX') as [string, string];
      const body = Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from(tail)]);
      const res = await rawRequest(`${h.base}/orders`, {
        method: 'POST',
        headers: { authorization: bearer(API_KEY), 'content-type': 'application/json' },
        body,
      });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.json.errors).toEqual([{ field: '(body)', message: 'must be UTF-8 text' }]);
    }
    expect(await h.rowCounts()).toEqual(before);
  });

  it.each([
    ['a latin-1 charset', { 'content-type': 'application/json; charset=iso-8859-1' }, 'Content-Type'],
    ['a UTF-16 charset', { 'content-type': 'application/json; charset="utf-16"' }, 'Content-Type'],
    ['gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 'Content-Encoding'],
    ['even identity', { 'content-type': 'application/json', 'content-encoding': 'identity' }, 'Content-Encoding'],
  ])('refuses a body with %s with a 415 naming the header', async (_what, headers, field) => {
    const res = await h.request('POST', '/orders', JSON.stringify(orderBody()), headers);
    expect(res.status).toBe(415);
    expect(res.json.errors).toEqual([expect.objectContaining({ field })]);
  });

  it('takes charset=utf-8 in any case', async () => {
    const res = await h.request('POST', '/orders', JSON.stringify(orderBody()), {
      'content-type': 'application/json;charset=UTF-8',
    });
    expect(res.status).toBe(201);
  });
});

describe('countries', () => {
  it.each(['ZZ', 'XX', 'AA', 'UK', 'EU', 'QM'])('refuses %s, which is no assigned ISO 3166-1 code', async (country) => {
    const res = await h.request('POST', '/orders', { ...orderBody(), shippingAddress: { ...ADDRESS, country } });
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([expect.objectContaining({ field: 'shippingAddress.country' })]);
  });

  it.each(['GB', 'US', 'DE', 'JP', 'BR', 'ZA', 'SS', 'FR'])('takes %s', async (country) => {
    const res = await h.request('POST', '/orders', { ...orderBody(), shippingAddress: { ...ADDRESS, country } });
    expect(res.status).toBe(201);
  });

  it('knows the 249 assigned codes, and none of the reserved or user-assigned ones', () => {
    expect(COUNTRY_CODES.size).toBe(249);
    for (const code of ['GB', 'US', 'CN', 'IN', 'AQ', 'SX', 'CW', 'BQ', 'SS']) expect(COUNTRY_CODES.has(code), code).toBe(true);
    for (const code of ['UK', 'EU', 'AA', 'ZZ', 'XK', 'QM', 'AN', 'YU', 'CS']) expect(COUNTRY_CODES.has(code), code).toBe(false);
  });
});

describe('placement refuses what cannot be sold', () => {
  it('refuses an order for more than is available with a 409 naming the SKU, before any charge', async () => {
    const before = await h.rowCounts();
    const charges = await count('sandbox_payment_intents');
    const res = await h.request(
      'POST',
      '/orders',
      orderBody('tok_visa', [
        { sku: 'SKU-1', quantity: 1 },
        { sku: 'LAST-2', quantity: 3 },
      ]),
    );
    expect(res.status).toBe(409);
    expectProblem(res, 409);
    expect(res.json.detail).toContain('LAST-2');
    expect(res.json.errors).toEqual([{ field: 'items.1.sku', message: 'LAST-2: 3 asked for, 2 available' }]);
    // Two lines of one SKU count together.
    const split = await h.request(
      'POST',
      '/orders',
      orderBody('tok_visa', [
        { sku: 'LAST-2', quantity: 1 },
        { sku: 'LAST-2', quantity: 2 },
      ]),
    );
    expect(split.status).toBe(409);
    expect(await h.rowCounts()).toEqual(before);
    expect(await count('sandbox_payment_intents')).toBe(charges);
  });

  it('takes an order for exactly what is available', async () => {
    const res = await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: 'LAST-2', quantity: 2 }]));
    expect(res.status).toBe(201);
  });

  it('refuses an order over MAX_ORDER_TOTAL_CENTS with a 422, and takes one at the limit', async () => {
    const before = await h.rowCounts();
    const over = await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 51 }]));
    expect(over.status).toBe(422);
    expect(over.json.errors).toEqual([expect.objectContaining({ field: 'items', message: expect.stringContaining('51000') })]);
    expect(await h.rowCounts()).toEqual(before);
    const at = await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 50 }]));
    expect(at.status).toBe(201);
  });
});

describe('problem documents quote only a short prefix of what they were sent', () => {
  it('answers a 10,000-character id, field name or SKU with a short document', async () => {
    const long = 'x'.repeat(10_000);
    const answers = [
      await h.request('GET', `/orders/${long}`),
      await h.request('POST', `/orders/${long}/cancel`),
      await h.request('POST', '/orders', { ...orderBody(), [long]: 1 }),
      await h.request('POST', '/orders', orderBody('tok_visa', [{ sku: long, quantity: 1 }])),
      await h.request('POST', '/orders', `{"customerId": ${long}`),
      await h.admin('GET', `/sandbox/payments?orderId=${long}`),
    ];
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect(res.text.length).toBeLessThan(1_500);
      expect(res.text).not.toContain('x'.repeat(129));
    }
  });

  it('quotes at most 64 characters of an unknown id, escaped', async () => {
    const id = `ord_\u202e${'y'.repeat(59)}`;
    const res = await h.request('GET', `/orders/${encodeURIComponent(id)}`);
    expect(res.status).toBe(400); // the bidi override is refused before anything looks the id up
    const plain = await h.request('GET', `/orders/ord_${'z'.repeat(60)}`);
    expect(plain.status).toBe(404);
    expect(plain.json.detail).toContain(`"ord_${'z'.repeat(60)}"`);
  });
});

describe('the carrier webhook', () => {
  it('checks its HMAC over the raw bytes of the body, not over their decoding', async () => {
    // Bytes that are not UTF-8: a signature over their decoded text would differ.
    const raw = Buffer.concat([
      Buffer.from('{"trackingNumber":"TRK'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","status":"delivered"}'),
    ]);
    const send = (signature: string) =>
      rawRequest(`${h.base}/webhooks/carrier`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature': signature },
        body: raw,
      });
    const overText = await send(signBody(raw.toString('utf8'), WEBHOOK_SECRET));
    expect(overText.status).toBe(401);
    const overBytes = await send(signBody(raw, WEBHOOK_SECRET));
    // The signature holds; the body is then refused as not UTF-8, like any other.
    expect(overBytes.status).toBe(400);
    expect(overBytes.json.errors).toEqual([{ field: '(body)', message: 'must be UTF-8 text' }]);
  });

  it('refuses a delivery whose signed timestamp is outside the tolerance, a bare body signature, and a timestamp changed after signing', async () => {
    const raw = JSON.stringify({ trackingNumber: 'TRK-replayed', status: 'delivered' });
    const refusals = [
      // Captured ten minutes ago and sent again: its signature still matches, its time does not.
      signBody(raw, WEBHOOK_SECRET, Date.now() - 10 * 60_000),
      signBody(raw, WEBHOOK_SECRET, Date.now() + 10 * 60_000),
      // The old form, an HMAC of the body alone, verifies for ever: refused.
      createHmac('sha256', WEBHOOK_SECRET).update(raw).digest('hex'),
      // A fresh timestamp put on an old signature.
      signBody(raw, WEBHOOK_SECRET, Date.now() - 10 * 60_000).replace(/^t=\d+/, `t=${Math.floor(Date.now() / 1000)}`),
    ];
    for (const signature of refusals) {
      const res = await h.request('POST', '/webhooks/carrier', raw, { 'x-signature': signature });
      expect(res.status, signature).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(SIGNATURE_CHALLENGE);
    }
    // Within the tolerance, the same body passes the signature (and then finds no such shipment).
    const fresh = await h.request('POST', '/webhooks/carrier', raw, {
      'x-signature': signBody(raw, WEBHOOK_SECRET, Date.now() - 60_000),
    });
    expect(fresh.status).toBe(404);
  });

  it("answers a bad signature with its own challenge, not the admin realm nor the storefronts'", async () => {
    const raw = JSON.stringify({ trackingNumber: 'TRK-1', status: 'delivered' });
    for (const signature of [signBody(raw, 'not-the-secret'), '']) {
      const res = await h.request('POST', '/webhooks/carrier', raw, { 'x-signature': signature });
      expect(res.status).toBe(401);
      expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toBe(SIGNATURE_CHALLENGE);
      expect(res.headers.get('www-authenticate')).not.toMatch(/orders-admin|realm="orders"/);
    }
  });
});

describe('CORS for the storefronts listed in CORS_ORIGINS', () => {
  it('answers a preflight from a listed origin, without asking for the key', async () => {
    const res = await rawRequest(`${h.base}/orders`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
  });

  it('gives nothing to an origin that is not listed, nor on admin routes', async () => {
    const other = await rawRequest(`${h.base}/orders`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const admin = await rawRequest(`${h.base}/admin/products`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'PUT' },
    });
    expect(admin.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('marks a listed origin’s answers readable, with the headers a storefront needs', async () => {
    const res = await h.request('POST', '/orders', orderBody(), { origin: 'https://shop.example' });
    expect(res.status).toBe(201);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(res.headers.get('access-control-expose-headers')).toContain('Location');
  });
});
