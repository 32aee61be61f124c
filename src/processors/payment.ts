/**
 * The payment service: charges an order at the gateway (key = order id) and voids a charge whose
 * order ended while it was in flight. Both are steps (step.ts) sharing the call and the record;
 * the deadline that fails an unanswered payment runs apart, in payment-deadline.ts.
 */
import type { Tx } from '../db/client.ts';
import type { OrderRow } from '../db/schema.ts';
import { planCharge, planVoid, recordPaymentOutcome, type PaymentPlan } from '../db/payments.ts';
import type { ChargeOutcome } from '../domain/ports.ts';
import type { Handlers } from '../queues/routing.ts';
import { parsePayload } from './job.ts';
import { skip, step, type Provider, type Skip, type Step, type StepRunner } from './step.ts';

/** A step's input: the order, and PAYMENT_TIMEOUT_MS (the answer's deadline runs from the timeline). */
export interface PaymentInput {
  orderId: string;
  paymentTimeoutMs: number;
}

type Planned = Exclude<PaymentPlan, { action: 'none' }> & { timeoutMs: number };

function planned(plan: PaymentPlan, timeoutMs: number): Planned | Skip {
  return plan.action === 'none' ? skip(`nothing to do: ${plan.why}`) : { ...plan, timeoutMs };
}

/** The gateway call under the order's key: a charge, or a void of whatever the key holds. */
function ask({ action, order }: Planned, { gateway }: Provider): Promise<ChargeOutcome> {
  if (action === 'void') return gateway.void({ idempotencyKey: order.id, orderId: order.id });
  return gateway.charge({
    idempotencyKey: order.id,
    orderId: order.id,
    amountCents: order.totalCents,
    currency: order.currency,
    token: order.paymentToken,
  });
}

type PaymentStep = Step<PaymentInput, Planned, ChargeOutcome, OrderRow | undefined>;

/** What charge and void share: the answer, captured, declined or voided, settles the payment. */
const settle = {
  call: ask,
  record: (tx: Tx, plan: Planned, outcome: ChargeOutcome, now: number) =>
    recordPaymentOutcome(tx, plan.order.id, outcome, now, plan.timeoutMs),
  done: (_result: OrderRow | undefined, outcome: ChargeOutcome, plan: Planned) => `${plan.action}: ${outcome.outcome}`,
};

/** For an OrderPlaced job: request the payment (PAYMENT_PENDING), charge, record the answer. */
export const chargeStep: PaymentStep = step({
  id: 'charge',
  plan: async (tx, input, now) =>
    planned(await planCharge(tx, input.orderId, now, input.paymentTimeoutMs), input.paymentTimeoutMs),
  ...settle,
});

/** For a PaymentVoidRequested job: an order that ended while its charge was in flight. */
export const voidStep: PaymentStep = step({
  id: 'void',
  // Only looks: the record settles the payment only while it is still unanswered.
  look: async (db, input) => planned(await planVoid(db, input.orderId), input.paymentTimeoutMs),
  ...settle,
});

export function paymentHandlers(deps: { steps: StepRunner; paymentTimeoutMs: number }): Handlers<'payment'> {
  const input = (orderId: string) => ({ orderId, paymentTimeoutMs: deps.paymentTimeoutMs });
  return {
    OrderPlaced: (job) => deps.steps.run(chargeStep, input(parsePayload(job).orderId)),
    PaymentVoidRequested: (job) => deps.steps.run(voidStep, input(parsePayload(job).orderId)),
  };
}
