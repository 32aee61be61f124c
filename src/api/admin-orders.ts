/**
 * Orders as an operator looks for them, in JSON: newest first, filtered by status, customer or
 * stuckness, with cursor paging. The console's pages read the same query. Behind the admin token
 * (server.ts), like the rest of /admin.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../db/client.ts';
import { listOrders } from '../db/order-list.ts';
import { ORDER_STATUSES } from '../domain/order-machine.ts';
import { problemResponses } from './problem.ts';
import { createRouter } from './router.ts';
import { OrderSchema, json } from './schemas.ts';
import { orderView } from '../views.ts';

const MAX_PAGE_SIZE = 200;
const DEFAULT_PAGE_SIZE = 50;

/** An order id as placeOrder makes it: `ord_` and a ULID. */
export const ORDER_ID_PATTERN = /^ord_[0-9A-HJKMNP-TV-Z]{26}$/;

export const OrderListQuerySchema = z.strictObject({
  status: z.enum(ORDER_STATUSES).optional().openapi({ description: 'Only orders in this status.' }),
  customerId: z.string().min(1).max(100).optional().openapi({ description: 'Only this customer’s orders.', example: 'cus_1' }),
  stuck: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .optional()
    .openapi({ description: 'With `true`, only orders not at rest that have not moved for STUCK_AFTER_MS.' }),
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_PAGE_SIZE, { error: `must be at most ${MAX_PAGE_SIZE}` })
    .optional()
    .openapi({ type: 'integer', description: `Orders per page, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` }),
  cursor: z
    .string()
    .regex(ORDER_ID_PATTERN, { error: 'must be the nextCursor of a previous page' })
    .optional()
    .openapi({ description: 'The `nextCursor` of the previous page.' }),
});
export type OrderListQueryInput = z.infer<typeof OrderListQuerySchema>;

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

/** The database query a validated query string asks for. */
export function orderListQuery(query: OrderListQueryInput, now: number, stuckAfterMs: number) {
  return {
    ...(query.status ? { status: query.status } : {}),
    ...(query.customerId !== undefined ? { customerId: query.customerId } : {}),
    ...(query.stuck === 'true' ? { stuckBefore: now - stuckAfterMs } : {}),
    ...(query.cursor !== undefined ? { before: query.cursor } : {}),
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
  };
}

export function adminOrdersRoutes(deps: AdminOrdersDeps) {
  const app = createRouter();

  app.openapi(listRoute, async (c) => {
    const page = await listOrders(deps.db, orderListQuery(c.req.valid('query'), deps.now(), deps.stuckAfterMs));
    return c.json({ orders: page.orders.map(orderView), nextCursor: page.nextBefore }, 200);
  });

  return app;
}
