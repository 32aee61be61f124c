/**
 * The order lifecycle: the one place callers ask what an event does to an order (DESIGN.md
 * principle 3). Every status change in the service goes through `applyEvent`; placement starts
 * at `INITIAL_STATUS` with its payment at `INITIAL_PAYMENT_STATUS`.
 *
 * The lifecycle is data (lifecycle/tables.ts); the rest is read off it, one concern a module:
 * where an order stands (lifecycle/positions.ts), what an order that ends badly still owes
 * (lifecycle/compensation.ts), which messages it owes (lifecycle/notifications.ts). The tables
 * are checked when this module loads (lifecycle/validate.ts): an inconsistent lifecycle does not
 * start. Pure: no I/O, no clock, no imports from outside domain/.
 */
import type { OrderEvent } from './events.ts';
import type { PaymentStatus } from './payment.ts';
import { LIFECYCLE, ORDER_STATUSES, TRANSITIONS, type OrderReason, type OrderStatus } from './lifecycle/tables.ts';
import { validateLifecycle } from './lifecycle/validate.ts';

export { ORDER_EVENTS, type OrderEvent } from './events.ts';
export * from './lifecycle/tables.ts';
export * from './lifecycle/positions.ts';
export * from './lifecycle/compensation.ts';
export * from './lifecycle/notifications.ts';
export { validateLifecycle } from './lifecycle/validate.ts';

const problems = validateLifecycle(LIFECYCLE);
if (problems.length > 0) throw new Error(`The order lifecycle does not hold together:\n- ${problems.join('\n- ')}`);

export type TransitionResult =
  | { ok: true; from: OrderStatus; to: OrderStatus; reason: OrderReason | null; paymentStatus: PaymentStatus | null }
  | { ok: false; refusal: TransitionRefusal };

export interface TransitionRefusal {
  readonly kind: 'InvalidTransition';
  readonly from: OrderStatus;
  readonly event: OrderEvent;
  readonly message: string;
}

/** Applies `event` to an order in `status`, or says why it cannot. */
export function applyEvent(status: OrderStatus, event: OrderEvent): TransitionResult {
  const transition = TRANSITIONS[status][event];
  if (!transition) {
    return {
      ok: false,
      refusal: {
        kind: 'InvalidTransition',
        from: status,
        event,
        message: `${event} is not allowed while the order is ${status}`,
      },
    };
  }
  return {
    ok: true,
    from: status,
    to: transition.to,
    reason: transition.reason ?? null,
    paymentStatus: transition.paymentStatus ?? null,
  };
}

export function canApply(status: OrderStatus, event: OrderEvent): boolean {
  return TRANSITIONS[status][event] !== undefined;
}

/** Whether an order in `status` got there by `event` (a cancelled order, by Cancelled). */
export function isReachedBy(status: OrderStatus, event: OrderEvent): boolean {
  return ORDER_STATUSES.some((from) => TRANSITIONS[from][event]?.to === status);
}
