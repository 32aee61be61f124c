/**
 * What the service answers outside its API operations: an index at the root, 405 with `Allow`
 * for a known path asked with the wrong method, and 404 for a path it does not know.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase } from '../src/db/open.ts';
import { createLogger } from '../src/logger.ts';
import { createOpsApp } from '../src/server.ts';
import { ADMIN_TOKEN, Harness } from './support/harness.ts';
import { openTestStore } from './support/store.ts';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ queues: [] });
});

afterAll(async () => {
  await h?.stop();
});

const INDEX_LINKS = ['/docs', '/openapi.json', '/admin', '/healthz', '/readyz', '/metrics'];

describe('GET /', () => {
  it('answers a browser with an HTML page linking the reference, the console, health and metrics', async () => {
    const res = await h.request('GET', '/', undefined, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const hrefs = [...res.text.matchAll(/<a class="mono" href="([^"]+)"/g)].map((m) => m[1]);
    expect(hrefs).toEqual(INDEX_LINKS);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('looks like the console: its stylesheet and icon, served without credentials, and nothing else', async () => {
    const res = await h.request('GET', '/', undefined, { accept: 'text/html' });
    expect(res.text).toContain('<link rel="stylesheet" href="/assets/console.css">');
    expect(res.text).toContain('<header class="top">');
    expect(res.headers.get('content-security-policy')).toMatch(/style-src 'self'; img-src 'self'/);
    const css = await fetch(`${h.base}/assets/console.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toContain('header.top');
    for (const icon of ['/favicon.svg', '/favicon.ico']) {
      const res = await fetch(`${h.base}${icon}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml');
    }
  });

  it('answers a client that asks for JSON with the same links as JSON', async () => {
    const res = await h.request('GET', '/', undefined, { accept: 'application/json' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json.links.map((l: { href: string }) => l.href)).toEqual(INDEX_LINKS);
    for (const link of res.json.links) expect(link.title).toBeTruthy();
  });

  it('answers without an Accept header with HTML', async () => {
    const res = await fetch(`${h.base}/`, { headers: { accept: '' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('links only to paths the service answers', async () => {
    for (const href of ['/docs', '/openapi.json', '/healthz', '/readyz', '/metrics']) {
      expect((await h.request('GET', href)).status, href).toBe(200);
    }
  });
});

describe('a known path with a method it does not answer', () => {
  it.each([
    ['DELETE', '/orders', 'POST'],
    ['GET', '/orders', 'POST'],
    ['PUT', '/orders/ord_1', 'GET, HEAD'],
    ['GET', '/orders/ord_1/cancel', 'POST'],
    ['GET', '/webhooks/carrier', 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['POST', '/openapi.json', 'GET, HEAD'],
    ['POST', '/docs', 'GET, HEAD'],
    ['DELETE', '/', 'GET, HEAD'],
  ])('%s %s is 405 with Allow: %s and a problem document', async (method, path, allow) => {
    const res = await h.request(method, path);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json).toMatchObject({ type: '/problems/method-not-allowed', status: 405, instance: path });
    expect(res.json.detail).toContain(method);
  });

  it('is 405 under /admin only once the admin token is given (401 before)', async () => {
    expect((await h.request('DELETE', '/admin/products')).status).toBe(401);
    const res = await h.request('DELETE', '/admin/products', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    const put = await h.request('POST', '/admin/products/SKU-1', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(put.headers.get('allow')).toBe('PUT');
  });
});

describe('an unknown path', () => {
  it.each([
    ['GET', '/nothing-here'],
    ['POST', '/nothing-here'],
    ['GET', '/orders/ord_1/nothing'],
    ['DELETE', '/docs/nothing'],
  ])('%s %s stays 404, without Allow', async (method, path) => {
    const res = await h.request(method, path);
    expect(res.status).toBe(404);
    expect(res.headers.get('allow')).toBeNull();
    expect(res.json).toMatchObject({ type: '/problems/not-found', status: 404 });
  });
});

describe("a worker process's metrics port", () => {
  it('answers a wrong method on /healthz with 405 and Allow, and an unknown path with 404', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-routing-'));
    const db = await openTestStore(dir);
    try {
      const ops = createOpsApp({ db, logger: createLogger('silent') });
      const wrong = await ops.request('/healthz', { method: 'POST' });
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET, HEAD');
      expect((await ops.request('/orders')).status).toBe(404);
    } finally {
      await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
