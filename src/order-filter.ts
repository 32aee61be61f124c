/**
 * The operator's filter of orders (status, customer, stuck, paging) as a query string gives it, and
 * the database query it asks for: `GET /admin/orders` (api/admin-orders.ts) and the console's
 * order list read the same one. Here, outside api/, so that the console reads it without loading
 * the HTTP layer. The descriptions are the OpenAPI document's.
 */
import { z } from '@hono/zod-openapi';
import type { OrderListQuery } from './db/order-list.ts';
import { ORDER_STATUSES } from './domain/order-machine.ts';

const MAX_PAGE_SIZE = 200;
const DEFAULT_PAGE_SIZE = 50;

/** An order id as placeOrder makes it: `ord_` and a ULID. */
export const ORDER_ID_PATTERN = /^ord_[0-9A-HJKMNP-TV-Z]{26}$/;

/** A list's `limit` query parameter: a whole number from 1 to `max`, read from the query string. */
export function pageLimit(max: number, description: string) {
  return z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(max, { error: `must be at most ${max}` })
    .optional()
    .openapi({ type: 'integer', description });
}

export const OrderListQuerySchema = z.strictObject({
  status: z.enum(ORDER_STATUSES).optional().openapi({ description: 'Only orders in this status.' }),
  customerId: z.string().min(1).max(100).optional().openapi({ description: 'Only this customer’s orders.', example: 'cus_1' }),
  stuck: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .optional()
    .openapi({ description: 'With `true`, only orders not at rest that have not moved for STUCK_AFTER_MS.' }),
  limit: pageLimit(MAX_PAGE_SIZE, `Orders per page, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).`),
  cursor: z
    .string()
    .regex(ORDER_ID_PATTERN, { error: 'must be the nextCursor of a previous page' })
    .optional()
    .openapi({ description: 'The `nextCursor` of the previous page.' }),
});
export type OrderListQueryInput = z.infer<typeof OrderListQuerySchema>;

/** The database query a validated query string asks for. */
export function orderListQuery(query: OrderListQueryInput, now: number, stuckAfterMs: number): OrderListQuery {
  return {
    ...(query.status ? { status: query.status } : {}),
    ...(query.customerId !== undefined ? { customerId: query.customerId } : {}),
    ...(query.stuck === 'true' ? { stuckBefore: now - stuckAfterMs } : {}),
    ...(query.cursor !== undefined ? { before: query.cursor } : {}),
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
  };
}
