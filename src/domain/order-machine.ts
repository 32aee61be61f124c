/**
 * The order lifecycle, written once as data (DESIGN.md "Order lifecycle").
 *
 * Every status change in the service goes through `applyEvent`; nothing else decides what an
 * order's next status is. The module is pure: no I/O, no clock, no imports from outside domain/.
 */

export const ORDER_STATUSES = [
  'CREATED',
  'PAYMENT_PENDING',
  'PAID',
  'AWAITING_SHIPMENT',
  'SHIPPED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ORDER_EVENTS = [
  'PaymentRequested',
  'PaymentSucceeded',
  'PaymentFailed',
  'PaymentTimedOut',
  'InventoryReserved',
  'InventoryReservationFailed',
  'ShipmentCreated',
  'Delivered',
  'Cancelled',
] as const;
export type OrderEvent = (typeof ORDER_EVENTS)[number];

export const FAILURE_REASONS = [
  'PAYMENT_DECLINED',
  'PAYMENT_TIMEOUT',
  'OUT_OF_STOCK',
  'CUSTOMER_CANCELLED',
] as const;
export type OrderReason = (typeof FAILURE_REASONS)[number];

export const TERMINAL_STATUSES: readonly OrderStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export interface Transition {
  readonly to: OrderStatus;
  /** Set on the order when the transition ends it in FAILED or CANCELLED. */
  readonly reason?: OrderReason;
}

const CANCEL: Transition = { to: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' };

/** (status, event) → next status. A pair missing here is refused. */
export const TRANSITIONS: Readonly<
  Record<OrderStatus, Partial<Readonly<Record<OrderEvent, Transition>>>>
> = {
  CREATED: {
    PaymentRequested: { to: 'PAYMENT_PENDING' },
    Cancelled: CANCEL,
  },
  PAYMENT_PENDING: {
    PaymentSucceeded: { to: 'PAID' },
    PaymentFailed: { to: 'FAILED', reason: 'PAYMENT_DECLINED' },
    PaymentTimedOut: { to: 'FAILED', reason: 'PAYMENT_TIMEOUT' },
    Cancelled: CANCEL,
  },
  PAID: {
    InventoryReserved: { to: 'AWAITING_SHIPMENT' },
    InventoryReservationFailed: { to: 'FAILED', reason: 'OUT_OF_STOCK' },
    Cancelled: CANCEL,
  },
  AWAITING_SHIPMENT: {
    ShipmentCreated: { to: 'SHIPPED' },
    Cancelled: CANCEL,
  },
  SHIPPED: {
    Delivered: { to: 'COMPLETED' },
  },
  COMPLETED: {},
  FAILED: {},
  CANCELLED: {},
};

export type TransitionResult =
  | { ok: true; from: OrderStatus; to: OrderStatus; reason: OrderReason | null }
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
  return { ok: true, from: status, to: transition.to, reason: transition.reason ?? null };
}

export function canApply(status: OrderStatus, event: OrderEvent): boolean {
  return TRANSITIONS[status][event] !== undefined;
}

export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
