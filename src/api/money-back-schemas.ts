/**
 * Request and response shapes of refunds and returns (`/orders/{id}/refunds`,
 * `/orders/{id}/returns`, `/admin/returns/{id}/…`): validation and the OpenAPI document from one
 * source, strict as the rest of schemas.ts.
 */
import { z } from '@hono/zod-openapi';
import { pageLimit } from '../order-filter.ts';
import { MAX_REASON_LENGTH, REFUND_STATUSES } from '../domain/refunds.ts';
import { RETURN_STATUSES } from '../domain/return-machine.ts';
import { idParam, MAX_QUANTITY, SkuSchema, text } from './schemas.ts';

const MAX_LINES = 100;

const Line = z.strictObject({
  sku: SkuSchema,
  quantity: z.int().min(1).max(MAX_QUANTITY).openapi({ example: 1 }),
});

const Reason = text(MAX_REASON_LENGTH).openapi({ example: 'Arrived damaged' });

export const RefundBody = z
  .strictObject({
    amountCents: z
      .int()
      .min(1, { error: 'must be at least 1' })
      .max(Number.MAX_SAFE_INTEGER)
      .openapi({ description: 'What to pay back, in cents: at most what the capture still holds.', example: 500 }),
    reason: Reason,
    lines: z
      .array(Line)
      .min(1, { error: 'must hold at least one line' })
      .max(MAX_LINES, { error: `must hold at most ${MAX_LINES} lines` })
      .optional()
      .openapi({
        description: 'The order lines the refund pays back, when it is for units; the amount may not pass their worth.',
      }),
  })
  .openapi('RefundRequest');
export type RefundBody = z.infer<typeof RefundBody>;

export const ReturnBody = z
  .strictObject({
    items: z
      .array(Line)
      .min(1, { error: 'must hold at least one line' })
      .max(MAX_LINES, { error: `must hold at most ${MAX_LINES} lines` })
      .openapi({ description: 'Units of the order to send back: no more than shipped and not yet claimed by another return.' }),
    reason: Reason,
  })
  .openapi('ReturnRequest');
export type ReturnBody = z.infer<typeof ReturnBody>;

export const ReturnIdParam = idParam('returnId', 'rt');

export const AdminReturnIdParam = idParam('id', 'rt');

export const RefundSchema = z
  .object({
    id: z.string().openapi({ example: 'rf_01JD5ZQ0N6W8J7Y3K2V1B0C9XA' }),
    orderId: z.string(),
    amountCents: z.int(),
    status: z.enum(REFUND_STATUSES).openapi({ description: 'PENDING until the gateway refunded it.' }),
    reason: z.string(),
    lines: z.array(z.object({ sku: z.string(), quantity: z.int() })).nullable(),
    returnId: z.string().nullable().openapi({ description: 'The return whose lines it pays back, if any.' }),
    createdAt: z.iso.datetime(),
    settledAt: z.iso.datetime().nullable(),
  })
  .openapi('Refund');

export const RefundListSchema = z.object({ refunds: z.array(RefundSchema) }).openapi('RefundList');

export const ReturnSchema = z
  .object({
    id: z.string().openapi({ example: 'rt_01JD5ZQ0N6W8J7Y3K2V1B0C9XA' }),
    orderId: z.string(),
    status: z.enum(RETURN_STATUSES),
    items: z.array(z.object({ sku: z.string(), quantity: z.int(), unitPriceCents: z.int() })),
    reason: z.string(),
    refund: z
      .object({ id: z.string(), amountCents: z.int(), status: z.enum(REFUND_STATUSES) })
      .nullable()
      .openapi({ description: 'The refund of its lines, once the goods came back.' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Return');

export const ReturnListSchema = z.object({ returns: z.array(ReturnSchema) }).openapi('ReturnList');

export const OpenReturnsQuery = z.strictObject({
  limit: pageLimit(500, 'At most this many, oldest first (default 100).'),
});
