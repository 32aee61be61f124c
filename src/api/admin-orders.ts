/**
 * Orders as an operator looks for them, in JSON: newest first, filtered by status, customer or
 * stuckness, with cursor paging (the filter is order-filter.ts, which the console's pages read
 * too). Behind the admin token (server.ts), like the rest of /admin.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { listOrders } from '../db/order-list.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { OrderSchema, json } from './schemas.ts';
import { OrderListQuerySchema, orderListQuery } from '../order-filter.ts';
import { orderView } from '../views.ts';

const OrderListSchema = z
  .object({
    orders: z.array(OrderSchema),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .openapi('OrderList');

const security: Record<string, string[]>[] = [{ adminToken: [] }, { adminBasic: [] }];

const listRoute = createRoute({
  method: 'get',
  path: '/orders',
  operationId: 'listOrders',
  tags: ['Admin'],
  summary: 'List orders, newest first',
  description:
    'Filters combine. Paging is stable: a page starts below the last order of the previous one, so orders ' +
    'placed meanwhile never shift it.',
  security,
  request: { query: OrderListQuerySchema },
  responses: { 200: { description: 'A page of orders.', ...json(OrderListSchema) }, ...problemResponses(400, 401) },
});

export interface AdminOrdersDeps {
  db: Db;
  now: () => number;
  stuckAfterMs: number;
}

export function adminOrdersRoutes(deps: AdminOrdersDeps) {
  const app = createRouter();

  app.openapi(listRoute, async (c) => {
    const page = await listOrders(deps.db, orderListQuery(c.req.valid('query'), deps.now(), deps.stuckAfterMs));
    return c.json({ orders: page.orders.map(orderView), nextCursor: page.nextBefore }, 200);
  });

  return app;
}
