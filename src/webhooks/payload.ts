/**
 * A webhook message's body: the event's id, type and time, and the order as `GET /orders/{id}`
 * showed it right after the change, with the order's version (it rises with every change, so a
 * receiver keeps the highest it has seen and ignores an older message that arrives late). Rendered
 * the same at every attempt: the snapshot was taken in the change's transaction, and an order's
 * lines never change once placed.
 */
import type { OrderItemRow } from '../db/schema.ts';
import type { Attempt } from '../db/webhook-deliveries.ts';
import type { OrderReason, OrderStatus } from '../domain/order-machine.ts';
import type { PaymentStatus } from '../domain/payment.ts';
import { orderView, type OrderView } from '../views.ts';

export interface WebhookMessage {
  id: string;
  type: string;
  timestamp: string;
  data: { version: number; order: OrderView };
}

export function renderMessage(event: Attempt['event'], items: readonly OrderItemRow[]): string {
  const s = event.snapshot;
  const order = orderView({
    ...s,
    status: s.status as OrderStatus,
    paymentStatus: s.paymentStatus as PaymentStatus,
    reason: s.reason as OrderReason | null,
    items: [...items],
  });
  const message: WebhookMessage = {
    id: event.id,
    type: event.type,
    timestamp: new Date(event.occurredAt).toISOString(),
    data: { version: event.orderVersion, order },
  };
  return JSON.stringify(message);
}
