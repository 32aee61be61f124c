/**
 * How an order, its timeline, its refunds and returns, and a product look from outside: the shapes
 * the HTTP API answers with (api/schemas.ts describes them for OpenAPI) and the CLI's `show`
 * prints. Here, outside api/, so that the CLI renders an order without loading the HTTP layer.
 */
import type { OrderWithItems } from './db/orders.ts';
import type { OrderEventRow, ProductRow } from './db/schema.ts';
import type { OrderReason, OrderStatus } from './domain/order-machine.ts';
import type { PaymentStatus } from './domain/payment.ts';
import type { RefundRow } from './db/refund-rows.ts';
import type { ReturnWithItems } from './db/returns.ts';

export interface OrderView {
  id: string;
  status: OrderStatus;
  customerId: string;
  email: string | null;
  items: { sku: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
  payment: { status: PaymentStatus };
  shipment: { trackingNumber: string } | null;
  reason: OrderReason | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What the view reads of an order: its row's public fields and its lines (a webhook's snapshot has them too). */
export type OrderViewSource = Pick<
  OrderWithItems,
  | 'id'
  | 'status'
  | 'customerId'
  | 'email'
  | 'items'
  | 'totalCents'
  | 'currency'
  | 'paymentStatus'
  | 'trackingNumber'
  | 'reason'
  | 'createdAt'
  | 'updatedAt'
>;

export function orderView(order: OrderViewSource): OrderView {
  return {
    id: order.id,
    status: order.status,
    customerId: order.customerId,
    email: order.email,
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
  return {
    sku: p.sku,
    name: p.name,
    priceCents: p.priceCents,
    available: p.available,
    reserved: p.reserved,
    shipped: p.shipped,
    returned: p.returned,
  };
}

export function refundView(r: RefundRow) {
  return {
    id: r.id,
    orderId: r.orderId,
    amountCents: r.amountCents,
    status: r.status,
    reason: r.reason,
    lines: r.lines ?? null,
    returnId: r.returnId,
    createdAt: iso(r.createdAt),
    settledAt: r.settledAt === null ? null : iso(r.settledAt),
  };
}
export type RefundView = ReturnType<typeof refundView>;

export function returnView(r: ReturnWithItems) {
  return {
    id: r.id,
    orderId: r.orderId,
    status: r.status,
    items: r.items,
    reason: r.reason,
    refund: r.refund,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}
export type ReturnView = ReturnType<typeof returnView>;
