/**
 * The OpenAPI document is generated from the same schemas that validate requests, and the API
 * reference page renders it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.ts';

let h: Harness;
let doc: any;

beforeAll(async () => {
  h = await Harness.start({ queues: [] });
  const res = await h.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.json;
});

afterAll(async () => {
  await h?.stop();
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with every route of the API', () => {
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'POST /orders',
        'GET /orders/{id}',
        'GET /orders/{id}/events',
        'POST /orders/{id}/cancel',
        'POST /webhooks/carrier',
        'PUT /admin/products/{sku}',
        'GET /admin/products',
        'GET /admin/sandbox/payments',
        'GET /admin/sandbox/notifications',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ].sort(),
    );
  });

  it('describes the validation rules of an order', () => {
    const order = doc.components.schemas.PlaceOrder;
    expect(order.additionalProperties).toBe(false);
    expect(order.required.sort()).toEqual(['customerId', 'items', 'payment', 'shippingAddress']);
    expect(order.properties.customerId).toMatchObject({ type: 'string', minLength: 1, maxLength: 100 });
    expect(order.properties.items).toMatchObject({ type: 'array', minItems: 1, maxItems: 100 });
    const line = order.properties.items.items;
    expect(line.additionalProperties).toBe(false);
    expect(line.properties.quantity).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000 });
    expect(line.properties.sku.pattern).toBeDefined();
    expect(order.properties.shippingAddress.required.sort()).toEqual(['city', 'country', 'line1', 'name', 'postalCode']);
  });

  it('documents the refusals as problem documents, the idempotency headers and the admin security', () => {
    const place = doc.paths['/orders'].post;
    expect(Object.keys(place.responses).sort()).toEqual(['201', '400', '401', '409', '413', '415', '422', '429']);
    expect(place.responses['400'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    expect(place.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key', required: false }));
    expect(Object.keys(place.responses['201'].headers)).toEqual(expect.arrayContaining(['Location', 'Idempotent-Replayed']));
    expect(doc.components.schemas.Problem.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'requestId']),
    );
    expect(doc.paths['/admin/products'].get.security).toEqual([{ adminToken: [] }, { adminBasic: [] }]);
    expect(doc.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.adminBasic).toMatchObject({ type: 'http', scheme: 'basic' });
  });

  it('declares the API key on every client route, and only there', () => {
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const client = [
      ['/orders', 'post'],
      ['/orders/{id}', 'get'],
      ['/orders/{id}/events', 'get'],
      ['/orders/{id}/cancel', 'post'],
    ];
    for (const [path, method] of client) {
      expect(doc.paths[path!][method!].security, `${method} ${path}`).toEqual([{ apiKey: [] }]);
      expect(Object.keys(doc.paths[path!][method!].responses)).toEqual(expect.arrayContaining(['401', '429']));
    }
    expect(doc.paths['/admin/products/{sku}'].put.security).toEqual([{ adminToken: [] }, { adminBasic: [] }]);
    expect(doc.paths['/webhooks/carrier'].post.security).toBeUndefined();
    expect(doc.paths['/healthz'].get.security).toBeUndefined();
  });
});

describe('GET /docs', () => {
  it('is an API reference page that loads /openapi.json', async () => {
    const res = await h.request('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain('/openapi.json');
    expect(res.text).toContain('<title>Order service API</title>');
  });
});
