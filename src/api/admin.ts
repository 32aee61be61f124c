/**
 * Operator routes: the catalog, and the simulated outside world's own records. They sit behind
 * the admin token (api/admin-auth.ts), applied to all of /admin in server.ts. The sandbox's
 * ledgers come in as a dependency: the API does not import the sandbox.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { listProducts, upsertProduct } from '../db/stock.ts';
import { jsonBody } from './body.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { ADMIN_SECURITY } from './security.ts';
import {
  OrderQuery,
  ProductListSchema,
  ProductSchema,
  PutProductBody,
  SandboxMessagesSchema,
  SandboxPaymentsSchema,
  SkuParam,
  json,
} from './schemas.ts';
import { productView } from '../views.ts';

const security = ADMIN_SECURITY;

const putProductRoute = createRoute({
  method: 'put',
  path: '/products/{sku}',
  operationId: 'putProduct',
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
  operationId: 'listProducts',
  tags: ['Admin'],
  summary: 'The catalog with its stock',
  description: 'Every product with its price and its units available for sale, reserved for orders and shipped.',
  security,
  responses: { 200: { description: 'Every product, by SKU.', ...json(ProductListSchema) }, ...problemResponses(401) },
});

/** The sandbox's own records, all of them or one order's. */
function sandboxRoute<S extends z.ZodType>(path: string, operationId: string, summary: string, description: string, schema: S) {
  return createRoute({
    method: 'get',
    path,
    operationId,
    tags: ['Sandbox'],
    summary,
    description,
    security,
    request: { query: OrderQuery },
    responses: { 200: { description: summary, ...json(schema) }, ...problemResponses(400, 401) },
  });
}

const paymentsRoute = sandboxRoute(
  '/sandbox/payments',
  'listSandboxPayments',
  'The sandbox gateway’s charges and refunds',
  'What the simulated payment gateway recorded: every charge and refund, of every order or of `orderId`.',
  SandboxPaymentsSchema,
);
const notificationsRoute = sandboxRoute(
  '/sandbox/notifications',
  'listSandboxNotifications',
  'The messages the sandbox notifier sent',
  'What the simulated notifier recorded: every customer message (kind and channel), of every order or of `orderId`.',
  SandboxMessagesSchema,
);

/** What the simulated outside world recorded, all of it or one order's. */
export interface SandboxLedgers {
  payments(orderId?: string): Promise<z.infer<typeof SandboxPaymentsSchema>>;
  messages(orderId?: string): Promise<z.infer<typeof SandboxMessagesSchema>>;
}

export function adminRoutes(deps: { db: Db; now: () => number; ledgers?: SandboxLedgers }) {
  const { db, ledgers } = deps;
  const app = createRouter();
  app.openapi(putProductRoute, async (c) => {
    const { product, created } = await upsertProduct(db, { sku: c.req.valid('param').sku, ...c.req.valid('json') }, deps.now());
    return created ? c.json(productView(product), 201) : c.json(productView(product), 200);
  });

  app.openapi(listProductsRoute, async (c) => c.json({ products: (await listProducts(db)).map(productView) }, 200));

  if (ledgers) {
    app.openapi(paymentsRoute, async (c) => c.json(await ledgers.payments(c.req.valid('query').orderId), 200));
    app.openapi(notificationsRoute, async (c) => c.json(await ledgers.messages(c.req.valid('query').orderId), 200));
  }

  return app;
}
