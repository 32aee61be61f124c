/**
 * The refund service: carries out every refund of an order that waits for the gateway, each keyed
 * at the gateway by its own id (so a job run twice, or a worker killed between the gateway's answer
 * and the record, refunds each once), and records them as settled. A step (step.ts): the look
 * reads the refunds still PENDING, the call refunds each, the record settles each.
 */
import { planRefunds, recordRefundsIssued } from '../db/refunds.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';
import { skip, step, type StepRunner } from './step.ts';

export const refundStep = step({
  id: 'refund',
  // Only looks: the record settles each refund only while it is still PENDING.
  look: async (db, orderId: string, now) => (await planRefunds(db, orderId, now)) ?? skip('nothing to refund'),
  call: async (plan, { gateway }) => {
    const issued: { refundId: string; gatewayRefundId: string }[] = [];
    // One after the other: each is its own keyed call, and a failure leaves the rest to the retry.
    for (const refund of plan.refunds) {
      const { refundId } = await gateway.refund({
        idempotencyKey: refund.id,
        orderId: plan.orderId,
        chargeId: plan.chargeId,
        amountCents: refund.amountCents,
      });
      issued.push({ refundId: refund.id, gatewayRefundId: refundId });
    }
    return issued;
  },
  record: (tx, _plan, issued, now) => recordRefundsIssued(tx, issued, now),
  done: (recorded, issued) => (recorded > 0 ? `refunded ${issued.map((i) => i.refundId).join(', ')}` : 'refunds already settled'),
});

export function refundHandlers(deps: { steps: StepRunner }): Handlers<'refund'> {
  return { RefundRequested: (job) => deps.steps.run(refundStep, parsePayload(job).orderId) };
}
