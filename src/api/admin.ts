/**
 * Operator routes: the catalog, and the simulated outside world's own records. They sit behind
 * the admin token (api/admin-auth.ts), applied to all of /admin in server.ts.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { listProducts, upsertProduct } from '../db/stock.ts';
import { sandboxMessages, sandboxPayments } from '../sandbox/ledger.ts';
import { jsonBody } from './body.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import {
  OrderQuery,
  ProductListSchema,
  ProductSchema,
  PutProductBody,
  SandboxMessagesSchema,
  SandboxPaymentsSchema,
  SkuParam,
  json,
  productView,
} from './schemas.ts';

const security: Record<string, string[]>[] = [{ adminToken: [] }, { adminBasic: [] }];

const putProductRoute = createRoute({
  method: 'put',
  path: '/products/{sku}',
  tags: ['Admin'],
  summary: 'Create or update a product',
  description: '`stock` sets the units available for sale.',
  security,
  middleware: [jsonBody] as const,
  request: { params: SkuParam, body: { ...json(PutProductBody), required: true } },
  responses: {
    200: { description: 'The product, updated.', ...json(ProductSchema) },
    201: { description: 'The product, created.', ...json(ProductSchema) },
    ...problemResponses(400, 401, 413, 415),
  },
});

const listProductsRoute = createRoute({
  method: 'get',
  path: '/products',
  tags: ['Admin'],
  summary: 'The catalog with its stock',
  security,
  responses: { 200: { description: 'Every product, by SKU.', ...json(ProductListSchema) }, ...problemResponses(401) },
});

/** The sandbox's own records, all of them or one order's. */
function sandboxRoute<S extends z.ZodType>(path: string, summary: string, schema: S) {
  return createRoute({
    method: 'get',
    path,
    tags: ['Sandbox'],
    summary,
    security,
    request: { query: OrderQuery },
    responses: { 200: { description: summary, ...json(schema) }, ...problemResponses(400, 401) },
  });
}

const paymentsRoute = sandboxRoute('/sandbox/payments', 'The sandbox gateway’s charges and refunds', SandboxPaymentsSchema);
const notificationsRoute = sandboxRoute('/sandbox/notifications', 'The messages the sandbox notifier sent', SandboxMessagesSchema);

export function adminRoutes(deps: { db: Db; now: () => number }) {
  const { db } = deps;
  const app = createRouter();
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN as a bearer token.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'Any user name, with ADMIN_TOKEN as the password (for browsers).',
  });

  app.openapi(putProductRoute, (c) => {
    const { product, created } = upsertProduct(db, { sku: c.req.valid('param').sku, ...c.req.valid('json') }, deps.now());
    return created ? c.json(productView(product), 201) : c.json(productView(product), 200);
  });

  app.openapi(listProductsRoute, (c) => c.json({ products: listProducts(db).map(productView) }, 200));

  app.openapi(paymentsRoute, (c) => c.json(sandboxPayments(db, c.req.valid('query').orderId), 200));

  app.openapi(notificationsRoute, (c) => c.json(sandboxMessages(db, c.req.valid('query').orderId), 200));

  return app;
}
