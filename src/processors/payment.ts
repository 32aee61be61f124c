/**
 * The payment service: charges an order at the gateway (key = order id), voids a charge whose
 * order ended while it was in flight, and fails an order whose gateway did not answer in time.
 */
import { DelayedError } from 'bullmq';
import type { Db } from '../db/client.ts';
import { planCharge, planVoid, recordPaymentOutcome, timeOutPayment, type PaymentPlan } from '../db/payments.ts';
import type { PaymentGateway } from '../domain/ports.ts';
import { parsePayload, unknownJob, type Processor } from './job.ts';

export interface PaymentDeps {
  db: Db;
  gateway: PaymentGateway;
  paymentTimeoutMs: number;
  now: () => number;
}

export function paymentProcessor(deps: PaymentDeps): Processor {
  const { db, gateway, now } = deps;

  async function carryOut(plan: PaymentPlan): Promise<string> {
    if (plan.action === 'none') return `nothing to do: ${plan.why}`;
    const { order } = plan;
    const outcome =
      plan.action === 'charge'
        ? await gateway.charge({
            idempotencyKey: order.id,
            orderId: order.id,
            amountCents: order.totalCents,
            currency: order.currency,
            token: order.paymentToken,
          })
        : await gateway.void({ idempotencyKey: order.id, orderId: order.id });
    recordPaymentOutcome(db, order.id, outcome, now());
    return `${plan.action}: ${outcome.outcome}`;
  }

  return async (job, token) => {
    const { orderId } = parsePayload(job);
    switch (job.name) {
      case 'OrderPlaced':
        return carryOut(planCharge(db, orderId, now(), deps.paymentTimeoutMs));
      case 'PaymentVoidRequested':
        return carryOut(planVoid(db, orderId));
      case 'PaymentTimeoutDue': {
        const check = timeOutPayment(db, orderId, now(), deps.paymentTimeoutMs);
        if (check.due) return check.order?.status === 'FAILED' ? 'timed out' : 'answered in time';
        // Re-created early (by the reconciler, say): wait for the real deadline.
        await job.moveToDelayed(check.dueAt, token);
        throw new DelayedError();
      }
      default:
        return unknownJob(job);
    }
  };
}
