/**
 * Operator routes behind `Authorization: Bearer $ADMIN_TOKEN`: the catalog, and the simulated
 * outside world's own records.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Db } from '../db/client.ts';
import { listProducts, upsertProduct } from '../db/stock.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import { sandboxMessages, sandboxPayments } from '../sandbox/ledger.ts';
import { readJson } from './body.ts';
import { validate } from './problem.ts';
import { PutProductBody, SkuSchema, productView } from './schemas.ts';
import { z } from 'zod';

/** Compares digests, so neither the token's content nor its length leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function requireAdmin(token: string): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) throw new UnauthorizedError('This route needs Authorization: Bearer <ADMIN_TOKEN>.');
    if (!sameSecret(match[1]!.trim(), token)) throw new UnauthorizedError('The admin token is wrong.');
    await next();
  };
}

const OrderQuery = z.strictObject({ orderId: z.string().min(1).max(100).optional() });

export function adminRoutes(deps: { db: Db; adminToken: string; now: () => number }): Hono {
  const { db } = deps;
  const app = new Hono();
  app.use('*', requireAdmin(deps.adminToken));

  app.put('/products/:sku', async (c) => {
    const sku = validate(SkuSchema, c.req.param('sku'), 'SKU in the path');
    const body = validate(PutProductBody, await readJson(c));
    const { product, created } = upsertProduct(db, { sku, ...body }, deps.now());
    return c.json(productView(product), created ? 201 : 200);
  });

  app.get('/products', (c) => c.json({ products: listProducts(db).map(productView) }));

  app.get('/sandbox/payments', (c) => {
    const { orderId } = validate(OrderQuery, c.req.query(), 'query');
    return c.json(sandboxPayments(db, orderId));
  });

  app.get('/sandbox/notifications', (c) => {
    const { orderId } = validate(OrderQuery, c.req.query(), 'query');
    return c.json(sandboxMessages(db, orderId));
  });

  return app;
}
