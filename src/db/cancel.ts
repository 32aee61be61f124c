/**
 * Customer cancellation. The compensation it owes (void, refund, stock release) is written with it
 * by `transition`; the services carry it out from the outbox.
 */
import { canApply, isReachedBy } from '../domain/order-machine.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { writeTx, type Db } from './client.ts';
import { findOrder } from './orders.ts';
import { transition } from './transitions.ts';
import type { OrderRow } from './schema.ts';

/** Cancels an order; cancelling a cancelled order answers it as it is. */
export function cancelOrder(db: Db, orderId: string, now: number): Promise<OrderRow> {
  return writeTx(db, async (tx) => {
    const order = await findOrder(tx, orderId);
    if (!order) throw new NotFoundError(`No order has the id ${JSON.stringify(orderId)}.`);
    if (isReachedBy(order.status, 'Cancelled')) return order;
    if (!canApply(order.status, 'Cancelled')) {
      throw new ConflictError(`The order is ${order.status}; it can no longer be cancelled.`);
    }
    return transition(tx, order, 'Cancelled', now);
  });
}
