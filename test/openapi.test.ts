/**
 * The OpenAPI document is generated from the same schemas that validate requests, describes every
 * operation well enough for tools (Spectral's spectral:oas ruleset finds nothing), and the API
 * reference page renders it from files the service serves itself.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_SCHEMES } from '../src/api/security.ts';
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
        'POST /orders/{id}/refunds',
        'GET /orders/{id}/refunds',
        'POST /orders/{id}/returns',
        'GET /orders/{id}/returns',
        'POST /orders/{id}/returns/{returnId}/cancel',
        'POST /admin/orders/{id}/refunds',
        'GET /admin/orders/{id}/refunds',
        'GET /admin/returns',
        'POST /admin/returns/{id}/receive',
        'POST /admin/returns/{id}/reject',
        'POST /webhooks/carrier',
        'PUT /admin/products/{sku}',
        'GET /admin/products',
        'GET /admin/orders',
        'GET /admin/sandbox/payments',
        'GET /admin/sandbox/notifications',
        'POST /admin/webhook-endpoints',
        'GET /admin/webhook-endpoints',
        'GET /admin/webhook-endpoints/{id}',
        'PATCH /admin/webhook-endpoints/{id}',
        'DELETE /admin/webhook-endpoints/{id}',
        'POST /admin/webhook-endpoints/{id}/rotate-secret',
        'GET /admin/webhook-endpoints/{id}/deliveries',
        'POST /admin/webhook-endpoints/{id}/resend-given-up',
        'GET /admin/webhook-deliveries/{id}',
        'POST /admin/webhook-deliveries/{id}/resend',
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

  it('gives each refusal status an example of its own, as the service writes it', async () => {
    const examples = new Map<string, unknown>();
    for (const ops of Object.values(doc.paths as Record<string, Record<string, any>>)) {
      for (const op of Object.values(ops)) {
        for (const [code, response] of Object.entries(op.responses as Record<string, any>)) {
          const problem = response.content?.['application/problem+json'];
          if (!problem) continue;
          expect(problem.example, `${op.operationId} ${code}`).toMatchObject({ status: Number(code) });
          examples.set(code, problem.example);
        }
      }
    }
    expect([...examples.keys()].sort()).toEqual(['400', '401', '404', '409', '413', '415', '422', '429']);
    // Not one example for all: each says what its status means.
    expect(new Set([...examples.values()].map((e: any) => e.detail)).size).toBe(examples.size);
    // Two of them checked against the real answer, all but the request id.
    const withoutId = ({ requestId: _, ...rest }: any) => rest;
    const missing = await h.request('GET', '/orders/ord_01M8EST9RFESSH3CG4Q38NXJVS');
    expect(withoutId(missing.json)).toEqual(withoutId(examples.get('404')));
    const anonymous = await h.request('GET', '/orders', undefined, { authorization: '' });
    expect(anonymous.status).toBe(401);
    expect({ ...withoutId(anonymous.json), instance: '/orders' }).toEqual(withoutId(examples.get('401')));
  });

  it('gives every operation a unique operationId, a summary, a description and a declared tag', () => {
    const declaredTags = new Map((doc.tags as { name: string; description?: string }[]).map((t) => [t.name, t.description]));
    const ids: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
        expect(op.summary, where).toBeTruthy();
        expect(op.description, where).toBeTruthy();
        expect(op.tags?.length, where).toBe(1);
        expect(declaredTags.has(op.tags[0]), where).toBe(true);
        ids.push(op.operationId);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const [name, description] of declaredTags) expect(description, name).toBeTruthy();
  });

  it('names the server it is served from', () => {
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
  });

  it('declares every security scheme of api/security.ts, and every scheme a route asks for', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(Object.keys(SECURITY_SCHEMES).sort());
    const asked = new Set<string>();
    for (const ops of Object.values(doc.paths as Record<string, Record<string, any>>)) {
      for (const op of Object.values(ops))
        for (const requirement of op.security ?? []) for (const name of Object.keys(requirement)) asked.add(name);
    }
    for (const name of asked) expect(doc.components.securitySchemes[name], name).toBeDefined();
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

describe('spectral lint with the spectral:oas ruleset', () => {
  it('reports nothing on the served document: no error, no warning, no hint', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc, null, 2));
      const spectral = join(root, 'node_modules', '.bin', 'spectral');
      const run = await promisify(execFile)(
        spectral,
        ['lint', file, '--ruleset', join(root, '.spectral.yaml'), '--format', 'json', '--fail-severity', 'hint', '--quiet'],
        { cwd: root },
      ).catch((error: { stdout?: string; stderr?: string; code?: number }) => error);
      const results = JSON.parse(run.stdout || '[]') as { code: string; message: string; path: string[]; severity: number }[];
      expect(results.map((r) => `${r.code}: ${r.message} at ${r.path.join('.')}`)).toEqual([]);
      expect((run as { code?: number }).code ?? 0).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

  it('loads every script, stylesheet and icon from the service itself, under a CSP of its own origin', async () => {
    const res = await h.request('GET', '/docs');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('content-security-policy')).not.toMatch(/https?:|\*|'unsafe-/);
    // No absolute URL anywhere in the page: nothing can come from elsewhere.
    expect(res.text).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+/i);
    const refs = [...res.text.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => r.endsWith('.js')).length).toBeGreaterThanOrEqual(2);
    expect(refs.filter((r) => r.endsWith('.css')).length).toBeGreaterThanOrEqual(1);
    for (const ref of refs) {
      expect(ref, ref).toMatch(/^\/docs\/assets\//);
      const asset = await fetch(`${h.base}${ref}`);
      expect(asset.status, ref).toBe(200);
      const type = asset.headers.get('content-type') ?? '';
      if (ref.endsWith('.js')) expect(type).toMatch(/^text\/javascript/);
      if (ref.endsWith('.css')) expect(type).toMatch(/^text\/css/);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(100);
    }
  });

  it('answers an asset it does not have with 404', async () => {
    const res = await h.request('GET', '/docs/assets/0000/nothing.js');
    expect(res.status).toBe(404);
  });
});
