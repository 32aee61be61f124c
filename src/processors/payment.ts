/**
 * The payment service: charges an order at the gateway (key = order id) and voids a charge whose
 * order ended while it was in flight. The deadline that fails an unanswered payment runs apart,
 * in payment-deadline.ts.
 */
import type { Db } from '../db/client.ts';
import { planCharge, planVoid, recordPaymentOutcome, type PaymentPlan } from '../db/payments.ts';
import type { PaymentGateway } from '../domain/ports.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';

export interface PaymentDeps {
  db: Db;
  gateway: PaymentGateway;
  paymentTimeoutMs: number;
  now: () => number;
}

export function paymentHandlers(deps: PaymentDeps): Handlers<'payment'> {
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
    await recordPaymentOutcome(db, order.id, outcome, now(), deps.paymentTimeoutMs);
    return `${plan.action}: ${outcome.outcome}`;
  }

  return {
    OrderPlaced: async (job) => carryOut(await planCharge(db, parsePayload(job).orderId, now(), deps.paymentTimeoutMs)),
    PaymentVoidRequested: async (job) => carryOut(await planVoid(db, parsePayload(job).orderId)),
  };
}
