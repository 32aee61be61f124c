/**
 * Request and response shapes of the HTTP API (DESIGN.md "HTTP API"). Requests are strict:
 * unknown fields are refused, every string is bounded.
 */
import { z } from 'zod';
import type { OrderWithItems } from '../db/orders.ts';
import type { OrderEventRow, ProductRow } from '../db/schema.ts';

// A missing field says so plainly, rather than "expected string, received undefined".
z.config({
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
});

const text = (max: number) => z.string().trim().min(1, { error: 'must not be empty' }).max(max);

export const SkuSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'must be 1-64 letters, digits, ".", "_" or "-"' });

export const PlaceOrderBody = z.strictObject({
  customerId: text(100),
  items: z
    .array(
      z.strictObject({
        sku: SkuSchema,
        quantity: z.int().min(1).max(1000),
      }),
    )
    .min(1, { error: 'must hold at least one line' })
    .max(100, { error: 'must hold at most 100 lines' }),
  payment: z.strictObject({ token: text(200) }),
  shippingAddress: z.strictObject({
    name: text(200),
    line1: text(200),
    city: text(100),
    postalCode: text(20),
    country: z.string().regex(/^[A-Z]{2}$/, { error: 'must be an ISO 3166-1 alpha-2 code, e.g. "US"' }),
  }),
});
export type PlaceOrderBody = z.infer<typeof PlaceOrderBody>;

export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, { error: 'must be 1-255 visible ASCII characters' });

export const PutProductBody = z.strictObject({
  name: text(200),
  priceCents: z.int().min(0).max(100_000_000),
  stock: z.int().min(0).max(1_000_000_000),
});

export const CarrierWebhookBody = z.strictObject({
  trackingNumber: text(100),
  status: z.literal('delivered', { error: 'must be "delivered"' }),
});

const iso = (ms: number) => new Date(ms).toISOString();

export function orderView(order: OrderWithItems) {
  return {
    id: order.id,
    status: order.status,
    customerId: order.customerId,
    items: order.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: i.unitPriceCents })),
    totalCents: order.totalCents,
    currency: order.currency,
    payment: { status: order.paymentStatus },
    shipment: order.trackingNumber ? { trackingNumber: order.trackingNumber } : null,
    reason: order.reason,
    createdAt: iso(order.createdAt),
    updatedAt: iso(order.updatedAt),
  };
}

export function eventView(event: OrderEventRow) {
  return { type: event.type, from: event.fromStatus, to: event.toStatus, at: iso(event.at), data: event.data ?? {} };
}

export function productView(p: ProductRow) {
  return { sku: p.sku, name: p.name, priceCents: p.priceCents, available: p.available, reserved: p.reserved, shipped: p.shipped };
}
