/**
 * The shipping service's two halves around the carrier call (each in the transaction the step
 * runner gives it, processors/step.ts), and delivery from the carrier's webhook.
 */
import { eq } from 'drizzle-orm';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { canApply, endedUnfulfilled, isReachedBy } from '../domain/order-machine.ts';
import { writeTx, type Db, type Tx } from './client.ts';
import { findOrder, lockOrder } from './orders.ts';
import { transition } from './transitions.ts';
import type { OrderRow } from './schema.ts';
import { assertStockToShip } from './stock.ts';

/** The order to ship, if it is still waiting for its shipment. */
export async function planShipment(db: Db | Tx, orderId: string): Promise<OrderRow | undefined> {
  const order = await findOrder(db, orderId);
  return order && canApply(order.status, 'ShipmentCreated') ? order : undefined;
}

export type ShipmentResult = 'shipped' | 'order_ended' | 'skipped';

/**
 * Records the carrier's shipment; it moves stock, so its transaction takes STOCK_TX's options.
 * When the order was cancelled while the carrier worked, the answer is 'order_ended' and the
 * shipment is cancelled at the carrier.
 */
export async function recordShipment(tx: Tx, orderId: string, trackingNumber: string, now: number): Promise<ShipmentResult> {
  const order = await lockOrder(tx, orderId);
  if (!order) return 'skipped';
  if (canApply(order.status, 'ShipmentCreated')) {
    assertStockToShip(order);
    await transition(tx, order, 'ShipmentCreated', now, {
      trackingNumber,
      data: { trackingNumber },
      stock: 'ship',
    });
    return 'shipped';
  }
  if (endedUnfulfilled(order.status)) return 'order_ended';
  return 'skipped';
}

/** The carrier says the parcel arrived. Idempotent: a repeated webhook answers the same order. */
export function markDelivered(db: Db, trackingNumber: string, now: number): Promise<OrderRow> {
  return writeTx(db, async (tx) => {
    const { orders } = tx.tables;
    const [order] = await tx.select().from(orders).where(eq(orders.trackingNumber, trackingNumber));
    if (!order) throw new NotFoundError(`No shipment has the tracking number ${JSON.stringify(trackingNumber)}.`);
    if (isReachedBy(order.status, 'Delivered')) return order;
    if (!canApply(order.status, 'Delivered')) throw new ConflictError(`The order is ${order.status}; it cannot be delivered.`);
    return transition(tx, order, 'Delivered', now, { data: { trackingNumber } });
  });
}

/** The order a tracking number belongs to; a 404 for one no shipment has. */
export async function orderOfTrackingNumber(db: Db, trackingNumber: string): Promise<string> {
  const { orders } = db.tables;
  const [order] = await db.select({ id: orders.id }).from(orders).where(eq(orders.trackingNumber, trackingNumber));
  if (!order) throw new NotFoundError(`No shipment has the tracking number ${JSON.stringify(trackingNumber)}.`);
  return order.id;
}
