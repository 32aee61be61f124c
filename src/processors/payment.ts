/**
 * The payment service: charges an order at the gateway (key = order id) and voids a charge whose
 * order ended while it was in flight. The deadline that fails an unanswered payment runs apart,
 * in payment-deadline.ts.
 */
import type { Db } from '../db/client.ts';
import { planCharge, planVoid, recordPaymentOutcome, type PaymentPlan } from '../db/payments.ts';
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

  return async (job) => {
    const { orderId } = parsePayload(job);
    switch (job.name) {
      case 'OrderPlaced':
        return carryOut(planCharge(db, orderId, now(), deps.paymentTimeoutMs));
      case 'PaymentVoidRequested':
        return carryOut(planVoid(db, orderId));
      default:
        return unknownJob(job);
    }
  };
}
