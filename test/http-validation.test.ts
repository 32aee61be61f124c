/**
 * The validation rules of POST /orders, one by one: each refusal is a 4xx problem document naming
 * the offending field, and none of them writes anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientHeaders } from '../src/cli/http-client.ts';
import { ADDRESS, API_KEY, Harness, orderBody } from './support/harness.ts';

let h: Harness;
let before: Record<string, number>;

beforeAll(async () => {
  h = await Harness.start({ queues: [] });
  // At 100 cents, the largest order (100 lines of 1000) totals exactly MAX_ORDER_TOTAL_CENTS's default.
  await h.putProduct('SKU-1', 1_000_000, 100);
  before = await h.rowCounts();
});

afterAll(async () => {
  await h?.stop();
});

type Body = ReturnType<typeof orderBody>;
const valid = (): Body => orderBody();
const withAddress = (address: Record<string, unknown>) => ({ ...valid(), shippingAddress: address });
const withItems = (items: unknown[]) => ({ ...valid(), items });
const { country: _country, ...addressWithoutCountry } = ADDRESS;

function expectProblem(res: Awaited<ReturnType<Harness['request']>>, status: number) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.json).toMatchObject({
    type: expect.stringMatching(/^\/problems\//),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    requestId: res.headers.get('x-request-id'),
  });
}

/** [what is wrong, body, status, offending field] */
const REFUSALS: [string, unknown, number, string][] = [
  ['an unknown top-level field', { ...valid(), coupon: 'FREE' }, 400, 'coupon'],
  ['an unknown field in a line', withItems([{ sku: 'SKU-1', quantity: 1, unitPriceCents: 1 }]), 400, 'items.0.unitPriceCents'],
  ['an unknown field in the address', withAddress({ ...ADDRESS, phone: '555' }), 400, 'shippingAddress.phone'],
  ['an unknown field in the payment', { ...valid(), payment: { token: 'tok_visa', amountCents: 1 } }, 400, 'payment.amountCents'],
  ['a missing customerId', (({ customerId: _, ...rest }) => rest)(valid()), 400, 'customerId'],
  ['an empty customerId', { ...valid(), customerId: '   ' }, 400, 'customerId'],
  ['a customerId of 101 characters', { ...valid(), customerId: 'c'.repeat(101) }, 400, 'customerId'],
  ['a customerId that is a number', { ...valid(), customerId: 42 }, 400, 'customerId'],
  ['no lines', withItems([]), 400, 'items'],
  ['101 lines', withItems(Array.from({ length: 101 }, () => ({ sku: 'SKU-1', quantity: 1 }))), 400, 'items'],
  ['items that are not a list', withItems({ sku: 'SKU-1' } as never), 400, 'items'],
  ['a quantity of 0', withItems([{ sku: 'SKU-1', quantity: 0 }]), 400, 'items.0.quantity'],
  ['a negative quantity', withItems([{ sku: 'SKU-1', quantity: -3 }]), 400, 'items.0.quantity'],
  ['a quantity of 1001', withItems([{ sku: 'SKU-1', quantity: 1001 }]), 400, 'items.0.quantity'],
  ['a fractional quantity', withItems([{ sku: 'SKU-1', quantity: 1.5 }]), 400, 'items.0.quantity'],
  ['a quantity as a string', withItems([{ sku: 'SKU-1', quantity: '2' }]), 400, 'items.0.quantity'],
  ['a missing quantity', withItems([{ sku: 'SKU-1' }]), 400, 'items.0.quantity'],
  ['a SKU with a space', withItems([{ sku: 'SKU 1', quantity: 1 }]), 400, 'items.0.sku'],
  ['an empty SKU', withItems([{ sku: '', quantity: 1 }]), 400, 'items.0.sku'],
  ['a SKU of 65 characters', withItems([{ sku: 'S'.repeat(65), quantity: 1 }]), 400, 'items.0.sku'],
  [
    'a SKU that is not in the catalog',
    withItems([
      { sku: 'SKU-1', quantity: 1 },
      { sku: 'NOPE', quantity: 1 },
    ]),
    422,
    'items.1.sku',
  ],
  ['a missing payment', (({ payment: _, ...rest }) => rest)(valid()), 400, 'payment'],
  ['an empty payment token', { ...valid(), payment: { token: '' } }, 400, 'payment.token'],
  ['a missing address', (({ shippingAddress: _, ...rest }) => rest)(valid()), 400, 'shippingAddress'],
  ['a missing country', withAddress(addressWithoutCountry), 400, 'shippingAddress.country'],
  ['a lower-case country', withAddress({ ...ADDRESS, country: 'gb' }), 400, 'shippingAddress.country'],
  ['a three-letter country', withAddress({ ...ADDRESS, country: 'GBR' }), 400, 'shippingAddress.country'],
  ['an empty name', withAddress({ ...ADDRESS, name: '' }), 400, 'shippingAddress.name'],
  ['a line1 of 201 characters', withAddress({ ...ADDRESS, line1: 'x'.repeat(201) }), 400, 'shippingAddress.line1'],
  ['a missing city', withAddress({ ...ADDRESS, city: undefined }), 400, 'shippingAddress.city'],
  ['a postal code of 21 characters', withAddress({ ...ADDRESS, postalCode: '1'.repeat(21) }), 400, 'shippingAddress.postalCode'],
  ['a body that is a list', [valid()], 400, '(body)'],
  ['a body that is null', null, 400, '(body)'],
  ['a body that is a string', 'an order, please', 400, '(body)'],
];

describe('POST /orders refuses bad input with a problem document naming the field', () => {
  it.each(REFUSALS)('%s', async (_what, body, status, field) => {
    const res = await h.request('POST', '/orders', JSON.stringify(body));
    expectProblem(res, status);
    expect(res.json.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(res.json.instance).toBe('/orders');
  });

  it('names every bad field at once', async () => {
    const res = await h.request('POST', '/orders', {
      customerId: '',
      items: [{ sku: 'SKU-1', quantity: 0 }],
      payment: { token: 'tok_visa' },
      shippingAddress: { ...ADDRESS, country: 'x' },
      extra: true,
    });
    expectProblem(res, 400);
    expect(res.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(
      ['customerId', 'extra', 'items.0.quantity', 'shippingAddress.country'].sort(),
    );
  });

  it('refuses malformed JSON with a 400', async () => {
    const res = await h.request('POST', '/orders', '{"customerId": "cus_1",');
    expectProblem(res, 400);
    expect(res.json.errors).toEqual([{ field: '(body)', message: 'malformed JSON' }]);
  });

  it('refuses an empty JSON body with a 400', async () => {
    expectProblem(await h.request('POST', '/orders', ''), 400);
  });

  it.each([
    ['text/plain', JSON.stringify(valid())],
    ['application/x-www-form-urlencoded', 'customerId=cus_1'],
    ['multipart/form-data; boundary=x', '--x--'],
    ['application/xml', '<order/>'],
    ['application/jsonx', JSON.stringify(valid())],
  ])('refuses a %s body with a 415', async (type, body) => {
    const res = await h.request('POST', '/orders', body, { 'content-type': type });
    expectProblem(res, 415);
    expect(res.json.errors).toEqual([expect.objectContaining({ field: 'Content-Type' })]);
  });

  it('refuses a body without a content type with a 415', async () => {
    const res = await fetch(`${h.base}/orders`, {
      method: 'POST',
      body: new Blob([JSON.stringify(valid())]),
      headers: clientHeaders(API_KEY),
    });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a body over 64 KiB with a 413, whether its length is announced or streamed', async () => {
    const big = JSON.stringify({ ...valid(), customerId: 'x'.repeat(70 * 1024) });
    expectProblem(await h.request('POST', '/orders', big), 413);

    const chunks = [big.slice(0, 30_000), big.slice(30_000)];
    const stream = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await fetch(`${h.base}/orders`, {
      method: 'POST',
      body: stream,
      headers: clientHeaders(API_KEY, { 'content-type': 'application/json' }),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a malformed Idempotency-Key with a 400 naming the header', async () => {
    const res = await h.request('POST', '/orders', valid(), { 'idempotency-key': 'k'.repeat(256) });
    expectProblem(res, 400);
    expect(res.json.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
  });

  it('wrote nothing for any of the refusals above', async () => {
    expect(await h.rowCounts()).toEqual(before);
  });
});

describe('POST /orders accepts the edges of the rules', () => {
  it('takes 100 lines of 1000 units, a total of exactly the limit, and a JSON content type with a charset', async () => {
    const res = await h.request(
      'POST',
      '/orders',
      withItems(Array.from({ length: 100 }, () => ({ sku: 'SKU-1', quantity: 1000 }))),
      { 'content-type': 'application/json; charset=utf-8' },
    );
    expect(res.status, res.text).toBe(201);
    expect(res.json.items).toHaveLength(100);
    expect(res.headers.get('location')).toBe(`/orders/${res.json.id}`);
  });
});

describe('problem documents and headers on every answer', () => {
  it('answers an unknown route and an unknown order with a 404 problem', async () => {
    expectProblem(await h.request('GET', '/nowhere'), 404);
    const missing = await h.request('GET', '/orders/ord_missing');
    expectProblem(missing, 404);
    expect(missing.json.detail).toContain('ord_missing');
    expectProblem(await h.request('GET', '/orders/ord_missing/events'), 404);
    expectProblem(await h.request('POST', '/orders/ord_missing/cancel'), 404);
  });

  it('echoes a caller’s X-Request-Id and generates one when absent', async () => {
    const given = await h.request('GET', '/orders/ord_missing', undefined, { 'x-request-id': 'trace-42_a' });
    expect(given.headers.get('x-request-id')).toBe('trace-42_a');
    expect(given.json.requestId).toBe('trace-42_a');

    const generated = await h.request('GET', '/healthz');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // A header that could forge log lines is replaced, not echoed.
    const forged = await h.request('GET', '/healthz', undefined, { 'x-request-id': 'a b"c' });
    expect(forged.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers, and a lock-down policy on everything but pages', async () => {
    const res = await h.request('GET', '/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get('x-powered-by')).toBeNull();
    const docs = await h.request('GET', '/docs');
    // The reference page may load its own files, and nothing else.
    expect(docs.headers.get('content-security-policy')).toMatch(/^default-src 'self'; img-src 'self' data:;/);
  });
});
