/**
 * The refund service's two halves around the gateway call.
 */
import { InvariantViolation } from '../domain/errors.ts';
import { awaitsRefund } from '../domain/order-machine.ts';
import { writeTx, type Db } from './client.ts';
import { findOrder } from './orders.ts';
import { recordFact } from './transitions.ts';
import type { OrderRow } from './schema.ts';

/** The order to refund, if it still waits for its refund. */
export async function planRefund(db: Db, orderId: string): Promise<(OrderRow & { chargeId: string }) | undefined> {
  const order = await findOrder(db, orderId);
  if (!order || !awaitsRefund(order)) return undefined;
  if (!order.chargeId) throw new InvariantViolation(`order ${orderId}: refund pending without a charge`);
  return order as OrderRow & { chargeId: string };
}

export async function recordRefund(db: Db, orderId: string, refundId: string, now: number): Promise<void> {
  await writeTx(db, async (tx) => {
    const order = await findOrder(tx, orderId);
    if (!order || !awaitsRefund(order)) return;
    await recordFact(tx, order, 'RefundIssued', now, { data: { refundId, amountCents: order.totalCents } });
  });
}
