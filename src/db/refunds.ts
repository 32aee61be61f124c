/**
 * The refund service's two halves around the gateway call, each in the transaction the step
 * runner gives it (processors/step.ts).
 */
import { InvariantViolation } from '../domain/errors.ts';
import { awaitsRefund } from '../domain/order-machine.ts';
import type { Db, Tx } from './client.ts';
import { findOrder } from './orders.ts';
import { recordFact } from './transitions.ts';
import type { OrderRow } from './schema.ts';

/** The order to refund, if it still waits for its refund. */
export async function planRefund(db: Db | Tx, orderId: string): Promise<(OrderRow & { chargeId: string }) | undefined> {
  const order = await findOrder(db, orderId);
  if (!order || !awaitsRefund(order)) return undefined;
  if (!order.chargeId) throw new InvariantViolation(`order ${orderId}: refund pending without a charge`);
  return order as OrderRow & { chargeId: string };
}

/** Settles the refund on the timeline; a refund already settled (by another run) is left as it is. */
export async function recordRefund(tx: Tx, orderId: string, refundId: string, now: number): Promise<'refunded' | 'settled'> {
  const order = await findOrder(tx, orderId);
  if (!order || !awaitsRefund(order)) return 'settled';
  await recordFact(tx, order, 'RefundIssued', now, { data: { refundId, amountCents: order.totalCents } });
  return 'refunded';
}
