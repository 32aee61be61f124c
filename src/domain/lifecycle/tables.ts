/**
 * The order lifecycle and what it causes, written once as data (DESIGN.md "Order lifecycle").
 *
 * - `TRANSITIONS`: (status, event) → next status, with the reason it ends on, the payment status
 *   it records, the message it owes the customer and the compensation it calls for.
 * - `RESTING`: per status, what an order resting there waits for: the events that carry it on,
 *   which the reconciler re-emits when it stopped moving.
 * - `FACT_EFFECTS`: timeline entries that keep the status, with what they settle.
 * - `STOCK_MOVES`: the stock an order holds, beside its status.
 * - `COMPENSATIONS`: when each compensation applies, what it sets and asks for, and while when it
 *   is still owed.
 *
 * Every other rule of the lifecycle is read off these tables (the modules beside this one), and
 * `validateLifecycle` checks that they fit together when order-machine.ts loads.
 */
import type { Fact, NotificationKind, OrderEvent, OutboxEvent } from '../events.ts';
import { REFUNDABLE_PAYMENTS, type PaymentStatus } from '../payment.ts';

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

/** Where every order starts: placement writes it with an OrderPlaced entry from nowhere. */
export const INITIAL_STATUS: OrderStatus = 'CREATED';

/** Where every order's payment starts: the gateway has not answered (nothing was asked yet). */
export const INITIAL_PAYMENT_STATUS: PaymentStatus = 'PENDING';

export const FAILURE_REASONS = ['PAYMENT_DECLINED', 'PAYMENT_TIMEOUT', 'OUT_OF_STOCK', 'CUSTOMER_CANCELLED'] as const;
export type OrderReason = (typeof FAILURE_REASONS)[number];

/** The stock an order holds, and the event or fact that moves it on. */
export const STOCK_STATUSES = ['NONE', 'RESERVED', 'RELEASED', 'SHIPPED'] as const;
export type StockStatus = (typeof STOCK_STATUSES)[number];

/** Where every order's stock starts: nothing held. */
export const INITIAL_STOCK: StockStatus = 'NONE';

/**
 * What an order that ends badly owes the outside world (DESIGN.md principle 5), each only when
 * the order's position calls for it (`COMPENSATIONS`):
 * - `refund`: what is left of a captured payment is refunded (a refund of the remainder, beside any
 *   partial refund the order already had: domain/refunds.ts);
 * - `void`: a charge possibly in flight is voided at the gateway (which refunds it if it landed);
 * - `voidUnasked`: no charge was ever asked for, so the payment is void at once;
 * - `releaseStock`: reserved stock goes back on sale.
 * A row that fails on the gateway's own answer (a decline, a timeout) lists no void: it waits for
 * that answer, and a late success is refunded then (`PaymentCapturedLate`).
 */
export const COMPENSATION_NAMES = ['refund', 'void', 'voidUnasked', 'releaseStock'] as const;
export type Compensation = (typeof COMPENSATION_NAMES)[number];

export interface Transition {
  readonly to: OrderStatus;
  /** Set on the order when the transition ends it in FAILED or CANCELLED. */
  readonly reason?: OrderReason;
  /** The payment status the transition records (the gateway's answer it is made of). */
  readonly paymentStatus?: PaymentStatus;
  /** The message this transition owes the customer. */
  readonly message?: NotificationKind;
  /** What the transition asks of other services (see `Compensation`). */
  readonly compensation?: readonly Compensation[];
}

export type TransitionTable = Readonly<Record<OrderStatus, Partial<Readonly<Record<OrderEvent, Transition>>>>>;

const CANCEL = { to: 'CANCELLED', reason: 'CUSTOMER_CANCELLED', message: 'cancelled' } as const;

/** (status, event) → next status and its consequences. A pair missing here is refused. */
export const TRANSITIONS: TransitionTable = {
  CREATED: {
    PaymentRequested: { to: 'PAYMENT_PENDING' },
    Cancelled: { ...CANCEL, compensation: ['voidUnasked'] },
  },
  PAYMENT_PENDING: {
    PaymentSucceeded: { to: 'PAID', paymentStatus: 'CAPTURED' },
    PaymentFailed: { to: 'FAILED', reason: 'PAYMENT_DECLINED', paymentStatus: 'DECLINED', message: 'payment_declined' },
    PaymentTimedOut: { to: 'FAILED', reason: 'PAYMENT_TIMEOUT', message: 'payment_timed_out' },
    Cancelled: { ...CANCEL, compensation: ['void'] },
  },
  PAID: {
    InventoryReserved: { to: 'AWAITING_SHIPMENT', message: 'order_confirmed' },
    InventoryReservationFailed: { to: 'FAILED', reason: 'OUT_OF_STOCK', message: 'out_of_stock', compensation: ['refund'] },
    Cancelled: { ...CANCEL, compensation: ['refund'] },
  },
  AWAITING_SHIPMENT: {
    ShipmentCreated: { to: 'SHIPPED', message: 'shipped' },
    Cancelled: { ...CANCEL, compensation: ['refund', 'releaseStock'] },
  },
  SHIPPED: {
    Delivered: { to: 'COMPLETED', message: 'delivered' },
  },
  COMPLETED: {},
  FAILED: {},
  CANCELLED: {},
};

/**
 * Per status, what an order resting there waits for.
 * - `on`: who must move it next: the service itself, the outside world through one of our jobs
 *   or the webhook (the carrier), or nobody (it has ended).
 * - `redrive`: the events that carry it on, re-emitted by the reconciler when it stopped moving;
 *   every processor checks the order's state first, so asking twice is harmless.
 */
export interface Resting {
  readonly on: 'service' | 'outside' | 'nobody';
  readonly redrive: readonly OutboxEvent[];
}

export const RESTING: Readonly<Record<OrderStatus, Resting>> = {
  CREATED: { on: 'service', redrive: ['OrderPlaced'] },
  // Ask again (the gateway's key makes that safe), and keep the deadline armed.
  PAYMENT_PENDING: { on: 'service', redrive: ['OrderPlaced', 'PaymentTimeoutDue'] },
  PAID: { on: 'service', redrive: ['PaymentSucceeded'] },
  // The shipping service asks the carrier; InventoryReserved is what it hears.
  AWAITING_SHIPMENT: { on: 'outside', redrive: ['InventoryReserved'] },
  // Delivery comes from the carrier's webhook: nothing of ours to re-drive.
  SHIPPED: { on: 'outside', redrive: [] },
  COMPLETED: { on: 'nobody', redrive: [] },
  FAILED: { on: 'nobody', redrive: [] },
  CANCELLED: { on: 'nobody', redrive: [] },
};

export type StockMoves = Readonly<Record<StockStatus, Partial<Readonly<Record<OrderEvent | Fact, StockStatus>>>>>;

export const STOCK_MOVES: StockMoves = {
  NONE: { InventoryReserved: 'RESERVED' },
  RESERVED: { ShipmentCreated: 'SHIPPED', StockReleased: 'RELEASED' },
  RELEASED: {},
  SHIPPED: {},
};

export interface FactEffect {
  /** The payment status the fact records. */
  readonly paymentStatus?: PaymentStatus;
  /** The payment status follows from the order's refunds (domain/refunds.ts `paymentAfterRefund`). */
  readonly paymentByRefunds?: true;
  /** What is left of the capture is refunded (a refund row for the remainder). */
  readonly refundsRemainder?: true;
  /** The work it hands on. */
  readonly requests?: readonly OutboxEvent[];
  /** The event other services hear of it by (the notification service, for its message). */
  readonly publishes?: OutboxEvent;
  /** The message it owes the customer. */
  readonly message?: NotificationKind;
}

/** Timeline entries that keep the status (events.ts `FACTS`), and what each settles. */
export const FACT_EFFECTS: Readonly<Record<Fact, FactEffect>> = {
  // A success that came after the order ended: refunded, never kept.
  PaymentCapturedLate: { paymentStatus: 'REFUND_PENDING', requests: ['RefundRequested'], refundsRemainder: true },
  PaymentDeclined: { paymentStatus: 'DECLINED' },
  PaymentVoided: { paymentStatus: 'VOIDED' },
  // A refund asked for by hand or by a return's receipt; its row is written beside the fact.
  RefundRequested: { paymentStatus: 'REFUND_PENDING', requests: ['RefundRequested'] },
  // One refund settled; the message is per refund (events.ts SUBJECT_NOTIFICATION_KINDS).
  RefundIssued: { paymentByRefunds: true, publishes: 'RefundIssued', message: 'refunded' },
  StockReleased: {},
  // A return's steps, on its order's timeline; the return's own table is return-machine.ts.
  ReturnRequested: { publishes: 'ReturnRequested', message: 'return_requested' },
  ReturnReceived: { publishes: 'ReturnReceived', message: 'return_received' },
  ReturnRefunded: {},
  ReturnRejected: { publishes: 'ReturnRejected', message: 'return_rejected' },
  ReturnCancelled: { publishes: 'ReturnCancelled', message: 'return_cancelled' },
  JobFailed: {},
  NotificationRefused: {},
};

/**
 * Part of an order's position: its payment status (one, or any of several), its stock status, or
 * both; `refundable`: some of the capture is left that no refund has claimed (domain/refunds.ts).
 */
export interface PositionPattern {
  readonly paymentStatus?: PaymentStatus | readonly PaymentStatus[];
  readonly stockStatus?: StockStatus;
  readonly refundable?: true;
}

/** The payment statuses a pattern names (none: any). */
export function paymentsOf(pattern: PositionPattern): readonly PaymentStatus[] {
  const named = pattern.paymentStatus;
  return named === undefined ? [] : typeof named === 'string' ? [named] : named;
}

/**
 * When a compensation applies and what it does.
 * - `calledFor`: the position, at a row that lists the compensation, that needs it (nothing to
 *   refund without a capture);
 * - `setsPayment`: the payment status it records at once;
 * - `refundsRemainder`: it writes a refund of what is left of the capture with the transition;
 * - `request`: the work it hands to another service, `owedWhile` the order stands where that work
 *   is still to do (the reconciler re-emits it, the service's plan acts on it; `ended`: only once
 *   the order has ended, since the same position is ordinary on the way), until `settledBy`.
 */
export interface CompensationRule {
  readonly calledFor: PositionPattern;
  readonly setsPayment?: PaymentStatus;
  readonly refundsRemainder?: true;
  readonly request?: {
    readonly event: OutboxEvent;
    readonly owedWhile: PositionPattern & { readonly ended?: true };
    readonly settledBy: Fact;
  };
}

export const COMPENSATIONS: Readonly<Record<Compensation, CompensationRule>> = {
  refund: {
    // Captured, or partly refunded already (a refund of part of it may still be at the gateway).
    calledFor: { paymentStatus: REFUNDABLE_PAYMENTS, refundable: true },
    setsPayment: 'REFUND_PENDING',
    refundsRemainder: true,
    // A late capture (PaymentCapturedLate) owes it too, whatever the status.
    request: { event: 'RefundRequested', owedWhile: { paymentStatus: 'REFUND_PENDING' }, settledBy: 'RefundIssued' },
  },
  void: {
    calledFor: { paymentStatus: 'PENDING' },
    // The gateway's answer settles it: voided, or a late capture or decline recorded as a fact.
    request: { event: 'PaymentVoidRequested', owedWhile: { ended: true, paymentStatus: 'PENDING' }, settledBy: 'PaymentVoided' },
  },
  voidUnasked: {
    calledFor: { paymentStatus: 'PENDING' },
    setsPayment: 'VOIDED',
  },
  releaseStock: {
    calledFor: { stockStatus: 'RESERVED' },
    request: { event: 'StockReleaseRequested', owedWhile: { ended: true, stockStatus: 'RESERVED' }, settledBy: 'StockReleased' },
  },
};

/** The whole lifecycle, as `validateLifecycle` reads it (a test hands it a broken copy). */
export interface Lifecycle {
  readonly initialStatus: OrderStatus;
  readonly initialPaymentStatus: PaymentStatus;
  readonly initialStock: StockStatus;
  readonly transitions: TransitionTable;
  readonly resting: Readonly<Record<OrderStatus, Resting>>;
  readonly stockMoves: StockMoves;
  readonly factEffects: Readonly<Record<Fact, FactEffect>>;
  readonly compensations: Readonly<Record<Compensation, CompensationRule>>;
}

export const LIFECYCLE: Lifecycle = {
  initialStatus: INITIAL_STATUS,
  initialPaymentStatus: INITIAL_PAYMENT_STATUS,
  initialStock: INITIAL_STOCK,
  transitions: TRANSITIONS,
  resting: RESTING,
  stockMoves: STOCK_MOVES,
  factEffects: FACT_EFFECTS,
  compensations: COMPENSATIONS,
};

/** Every row of the transition table, with where it starts and the event that takes it. */
export function rowsOf(transitions: TransitionTable): (Transition & { from: OrderStatus; event: OrderEvent })[] {
  return ORDER_STATUSES.flatMap((from) =>
    (Object.entries(transitions[from]) as [OrderEvent, Transition][]).map(([event, t]) => ({ ...t, from, event })),
  );
}

/** Statuses no row leaves. */
export function terminalStatusesOf(transitions: TransitionTable): OrderStatus[] {
  return ORDER_STATUSES.filter((s) => Object.keys(transitions[s]).length === 0);
}
