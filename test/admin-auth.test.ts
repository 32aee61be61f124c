/**
 * Everything under /admin is closed without the admin token and with a wrong one, open with it as
 * a bearer token or as the password of Basic auth; the dashboard challenges browsers with Basic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offeredSecret, sameSecret } from '../src/api/admin-auth.ts';
import { ADMIN_TOKEN, Harness } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  // Every wrong credential below counts against 127.0.0.1; the throttle has its own test (security).
  h = await Harness.start({ queues: [], env: { ADMIN_AUTH_FAILURE_LIMIT: '0' } });
  await h.putProduct('SKU-1', 3);
});

afterAll(async () => {
  await h?.stop();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const ADMIN_ROUTES: [string, string, unknown?][] = [
  ['GET', '/admin/products'],
  ['PUT', '/admin/products/SKU-9', { name: 'Nine', priceCents: 900, stock: 9 }],
  ['GET', '/admin/sandbox/payments'],
  ['GET', '/admin/sandbox/notifications'],
  ['GET', '/admin/queues'],
  ['GET', '/admin/queues/api/queues'],
  ['PUT', '/admin/queues/api/queues/payment/retry/failed'],
  ['GET', '/admin/nowhere'],
];

const WRONG: [string, Record<string, string>][] = [
  ['no credentials', {}],
  ['a wrong bearer token', { authorization: 'Bearer not-the-token' }],
  ['the token with one character more', { authorization: `Bearer ${ADMIN_TOKEN}x` }],
  ['a prefix of the token', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
  ['a wrong Basic password', { authorization: basic('admin', 'wrong') }],
  ['the token as the Basic user name', { authorization: basic(ADMIN_TOKEN, '') }],
  ['an unknown scheme', { authorization: `Token ${ADMIN_TOKEN}` }],
  ['a bare token', { authorization: ADMIN_TOKEN }],
];

describe('admin routes', () => {
  for (const [method, path, body] of ADMIN_ROUTES) {
    it.each(WRONG)(`${method} ${path} is refused with %s`, async (_what, headers) => {
      const res = await h.request(method, path, body, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.json).toMatchObject({ status: 401, type: '/problems/unauthorized' });
      expect(res.headers.get('www-authenticate')).toMatch(path.startsWith('/admin/queues') ? /^Basic / : /^Bearer /);
    });
  }

  it('refused requests changed nothing', async () => {
    const products = (await h.admin('GET', '/products')).json.products;
    expect(products.map((p: { sku: string }) => p.sku)).toEqual(['SKU-1']);
  });

  it('open with the token as a bearer token or as a Basic password', async () => {
    const bearer = await h.request('GET', '/admin/products', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(bearer.status).toBe(200);
    const viaBasic = await h.request('GET', '/admin/products', undefined, { authorization: basic('anyone', ADMIN_TOKEN) });
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.json).toEqual(bearer.json);
    const board = await h.request('GET', '/admin/queues', undefined, { authorization: basic('admin', ADMIN_TOKEN) });
    expect(board.status).toBe(200);
    expect(board.headers.get('content-type')).toContain('text/html');
  });

  it('validates admin input like the rest of the API', async () => {
    const badSku = await h.admin('PUT', '/products/bad%20sku', { name: 'x', priceCents: 1, stock: 1 });
    expect(badSku.status).toBe(400);
    expect(badSku.json.errors).toEqual([expect.objectContaining({ field: 'sku' })]);
    const badBody = await h.admin('PUT', '/products/SKU-2', { name: 'x', priceCents: -1, stock: 1.5, color: 'red' });
    expect(badBody.status).toBe(400);
    expect(badBody.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['color', 'priceCents', 'stock']);
    const badQuery = await h.admin('GET', '/sandbox/payments?orderId=a&orderId=b');
    expect(badQuery.status).toBe(400);
    const unknownQuery = await h.admin('GET', '/sandbox/payments?customer=a');
    expect(unknownQuery.status).toBe(400);
  });
});

describe('the admin secret check', () => {
  it('compares whole secrets, whatever their lengths', () => {
    expect(sameSecret(ADMIN_TOKEN, ADMIN_TOKEN)).toBe(true);
    expect(sameSecret('', ADMIN_TOKEN)).toBe(false);
    expect(sameSecret(`${ADMIN_TOKEN}${ADMIN_TOKEN}`, ADMIN_TOKEN)).toBe(false);
  });

  it('reads the secret from a Bearer token or a Basic password, and nothing else', () => {
    expect(offeredSecret('Bearer abc')).toBe('abc');
    expect(offeredSecret('bearer  abc ')).toBe('abc');
    expect(offeredSecret(basic('u', 'p:with:colons'))).toBe('p:with:colons');
    expect(offeredSecret(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
    expect(offeredSecret('Digest abc')).toBeUndefined();
    expect(offeredSecret(undefined)).toBeUndefined();
  });
});
