/**
 * The refund service: refunds the full amount of an order whose payment waits for its refund,
 * once, keyed `refund-<order id>` at the gateway. A step (step.ts).
 */
import { planRefund, recordRefund } from '../db/refunds.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';
import { skip, step, type StepRunner } from './step.ts';

export const refundStep = step({
  id: 'refund',
  // Only looks: the record settles the refund only while the order still waits for it.
  look: async (db, orderId: string) => (await planRefund(db, orderId)) ?? skip('nothing to refund'),
  call: (order, { gateway }) =>
    gateway.refund({
      idempotencyKey: `refund-${order.id}`,
      orderId: order.id,
      chargeId: order.chargeId,
      amountCents: order.totalCents,
    }),
  record: (tx, order, { refundId }, now) => recordRefund(tx, order.id, refundId, now),
  done: (result, { refundId }) => (result === 'refunded' ? `refunded ${refundId}` : `${refundId} already settled`),
});

export function refundHandlers(deps: { steps: StepRunner }): Handlers<'refund'> {
  return { RefundRequested: (job) => deps.steps.run(refundStep, parsePayload(job).orderId) };
}
