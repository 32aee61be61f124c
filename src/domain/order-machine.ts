/**
 * The order lifecycle and what it causes, written once as data (DESIGN.md "Order lifecycle").
 *
 * - `TRANSITIONS`: (status, event) → next status, with the reason it ends on, the message it owes
 *   the customer and the compensation it calls for. Every status change in the service goes
 *   through `applyEvent`; placement starts at `INITIAL_STATUS`.
 * - `RESTING`: per status, what an order resting there waits for: the events that carry it on,
 *   which the reconciler re-emits when it stopped moving.
 * - `FACT_EFFECTS`: timeline entries that keep the status, with what they settle.
 * - `STOCK_MOVES`: the stock an order holds, beside its status.
 *
 * Everything else in this module is read off those tables. Pure: no I/O, no clock, no imports from
 * outside domain/.
 */
import { NOTIFICATION_KINDS, type Fact, type NotificationKind, type OrderEvent, type OutboxEvent } from './events.ts';
import type { PaymentStatus } from './payment.ts';

export { ORDER_EVENTS, type OrderEvent } from './events.ts';

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

export const FAILURE_REASONS = ['PAYMENT_DECLINED', 'PAYMENT_TIMEOUT', 'OUT_OF_STOCK', 'CUSTOMER_CANCELLED'] as const;
export type OrderReason = (typeof FAILURE_REASONS)[number];

/**
 * What an order that ends badly owes the outside world (DESIGN.md principle 5), each only when
 * the order's position calls for it:
 * - `refund`: a captured payment is refunded;
 * - `void`: a charge possibly in flight is voided at the gateway (which refunds it if it landed);
 * - `voidUnasked`: no charge was ever asked for, so the payment is void at once;
 * - `releaseStock`: reserved stock goes back on sale.
 * A row that fails on the gateway's own answer (a decline, a timeout) lists no void: it waits for
 * that answer, and a late success is refunded then (`PaymentCapturedLate`).
 */
export type Compensation = 'refund' | 'void' | 'voidUnasked' | 'releaseStock';

export interface Transition {
  readonly to: OrderStatus;
  /** Set on the order when the transition ends it in FAILED or CANCELLED. */
  readonly reason?: OrderReason;
  /** The message this transition owes the customer. */
  readonly message?: NotificationKind;
  /** What the transition asks of other services (see `Compensation`). */
  readonly compensation?: readonly Compensation[];
}

const CANCEL = { to: 'CANCELLED', reason: 'CUSTOMER_CANCELLED', message: 'cancelled' } as const;

/** (status, event) → next status and its consequences. A pair missing here is refused. */
export const TRANSITIONS: Readonly<Record<OrderStatus, Partial<Readonly<Record<OrderEvent, Transition>>>>> = {
  CREATED: {
    PaymentRequested: { to: 'PAYMENT_PENDING' },
    Cancelled: { ...CANCEL, compensation: ['voidUnasked'] },
  },
  PAYMENT_PENDING: {
    PaymentSucceeded: { to: 'PAID' },
    PaymentFailed: { to: 'FAILED', reason: 'PAYMENT_DECLINED', message: 'payment_declined' },
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

/** The stock an order holds, and the event or fact that moves it on. */
export const STOCK_STATUSES = ['NONE', 'RESERVED', 'RELEASED', 'SHIPPED'] as const;
export type StockStatus = (typeof STOCK_STATUSES)[number];

/** Where every order's stock starts: nothing held. */
export const INITIAL_STOCK: StockStatus = 'NONE';

export const STOCK_MOVES: Readonly<Record<StockStatus, Partial<Readonly<Record<OrderEvent | Fact, StockStatus>>>>> = {
  NONE: { InventoryReserved: 'RESERVED' },
  RESERVED: { ShipmentCreated: 'SHIPPED', StockReleased: 'RELEASED' },
  RELEASED: {},
  SHIPPED: {},
};

/** Stock held for the order, which must leave with the shipment or go back on sale. */
export const HELD_STOCK: readonly StockStatus[] = ['RESERVED'];

/** A payment the gateway or the refund service has still to settle. */
export const UNSETTLED_PAYMENTS: readonly PaymentStatus[] = ['PENDING', 'REFUND_PENDING'];

export interface FactEffect {
  /** The payment status the fact records. */
  readonly paymentStatus?: PaymentStatus;
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
  PaymentCapturedLate: { paymentStatus: 'REFUND_PENDING', requests: ['RefundRequested'] },
  PaymentDeclined: { paymentStatus: 'DECLINED' },
  PaymentVoided: { paymentStatus: 'VOIDED' },
  RefundIssued: { paymentStatus: 'REFUNDED', publishes: 'RefundIssued', message: 'refunded' },
  StockReleased: {},
  JobFailed: {},
  NotificationRefused: {},
};

// ---------------------------------------------------------------------------------------------
// Everything below reads the tables above.

/** An order's place in the lifecycle: its status, and what it holds beside it. */
export interface OrderPosition {
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  stockStatus: StockStatus;
}

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

/** Whether an order in `status` got there by `event` (a cancelled order, by Cancelled). */
export function isReachedBy(status: OrderStatus, event: OrderEvent): boolean {
  return ORDER_STATUSES.some((from) => TRANSITIONS[from][event]?.to === status);
}

export const TERMINAL_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) => Object.keys(TRANSITIONS[s]).length === 0);

export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Ended without the goods reaching the customer: a status some row enters with a reason. */
const UNFULFILLED_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) =>
  ORDER_STATUSES.some((from) => Object.values(TRANSITIONS[from]).some((t) => t.to === s && t.reason)),
);

export function endedUnfulfilled(status: OrderStatus): boolean {
  return UNFULFILLED_STATUSES.includes(status);
}

/** The statuses in which an order waits on the service, and must be re-driven if it stops. */
export const MOVING_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) => RESTING[s].redrive.length > 0);

/** The statuses from which the service itself must move an order (none may stay there). */
export const SERVICE_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) => RESTING[s].on === 'service');

export function waitsOnService(status: OrderStatus): boolean {
  return SERVICE_STATUSES.includes(status);
}

/** Waiting on the carrier (for its shipment or the delivery): at rest as far as we can tell. */
export function waitsOnOutside(status: OrderStatus): boolean {
  return RESTING[status].on === 'outside';
}

/** A payment or stock still to settle (the compensation of an ended order, say). */
export function hasSomethingToSettle(order: { paymentStatus: PaymentStatus; stockStatus?: StockStatus }): boolean {
  return (
    UNSETTLED_PAYMENTS.includes(order.paymentStatus) ||
    (order.stockStatus !== undefined && HELD_STOCK.includes(order.stockStatus))
  );
}

/**
 * At rest: the service has nothing left to do for the order; only the outside world (a delivery)
 * or nobody can move it. Without its stock status (the HTTP view does not show it), the stock is
 * not looked at.
 */
export function isAtRest(order: { status: OrderStatus; paymentStatus: PaymentStatus; stockStatus?: StockStatus }): boolean {
  return RESTING[order.status].redrive.length === 0 && !hasSomethingToSettle(order);
}

/** Reserved stock may go back on sale once the order has ended (compensation `releaseStock`). */
export function mayReleaseStock(order: OrderPosition): boolean {
  return isTerminal(order.status) && STOCK_MOVES[order.stockStatus].StockReleased !== undefined;
}

/** What `transition` writes beside the status when an order moves by `event`. */
export interface CompensationEffect {
  /** The payment status the order moves to with the transition, if it changes. */
  paymentStatus?: PaymentStatus;
  /** Work to hand to other services through the outbox. */
  requests: OutboxEvent[];
}

/** The compensation the row (order.status, event) calls for, as the order's position needs it. */
export function compensationFor(order: OrderPosition, event: OrderEvent): CompensationEffect {
  const asked = TRANSITIONS[order.status][event]?.compensation ?? [];
  const requests: OutboxEvent[] = [];
  let paymentStatus: PaymentStatus | undefined;
  for (const compensation of asked) {
    switch (compensation) {
      case 'refund':
        if (order.paymentStatus === 'CAPTURED') {
          paymentStatus = 'REFUND_PENDING';
          requests.push('RefundRequested');
        }
        break;
      case 'void':
        if (order.paymentStatus === 'PENDING') requests.push('PaymentVoidRequested');
        break;
      case 'voidUnasked':
        if (order.paymentStatus === 'PENDING') paymentStatus = 'VOIDED';
        break;
      case 'releaseStock':
        if (HELD_STOCK.includes(order.stockStatus)) requests.push('StockReleaseRequested');
        break;
    }
  }
  return paymentStatus ? { paymentStatus, requests } : { requests };
}

/** The events that carry an order on from where it rests; empty when it waits on nobody. */
export function redriveEvents(order: OrderPosition): OutboxEvent[] {
  const events = [...RESTING[order.status].redrive];
  // An ended order's compensation, if it is still owed.
  if (isTerminal(order.status)) {
    if (order.paymentStatus === 'PENDING') events.push('PaymentVoidRequested');
    if (HELD_STOCK.includes(order.stockStatus)) events.push('StockReleaseRequested');
  }
  if (order.paymentStatus === 'REFUND_PENDING') events.push('RefundRequested');
  return events;
}

/** Which event, heard by the notification service, tells the customer what. */
export const NOTIFICATION_FOR_EVENT: Readonly<Partial<Record<OutboxEvent, NotificationKind>>> = Object.fromEntries([
  ...ORDER_STATUSES.flatMap((s) =>
    Object.entries(TRANSITIONS[s]).flatMap(([event, t]) => (t.message ? [[event, t.message]] : [])),
  ),
  ...Object.values(FACT_EFFECTS).flatMap((f) => (f.publishes && f.message ? [[f.publishes, f.message]] : [])),
]);

/** The event whose notification job sends a kind of message. */
export function eventForNotification(kind: NotificationKind): OutboxEvent {
  const entry = Object.entries(NOTIFICATION_FOR_EVENT).find(([, k]) => k === kind);
  if (!entry) throw new Error(`no event sends ${kind}`);
  return entry[0] as OutboxEvent;
}

/**
 * What on an order's row shows that a message is owed, read off the tables:
 * - `statuses`: every order in one of them has been through the row that owes the message
 *   (the row is the only way into a status on the path);
 * - `reason`: an order that ended with this reason took the row that gives it;
 * - `stockNot`: the stock moved on from this status by the row (InventoryReserved owes the
 *   confirmation, whatever happened to the stock after);
 * - `paymentStatus`: a fact that records this payment status owes the message.
 * The reconciler's SQL and `owedNotifications` both read this list.
 */
export type MessageEvidence =
  | { kind: NotificationKind; statuses: readonly OrderStatus[] }
  | { kind: NotificationKind; status: OrderStatus; reason: OrderReason }
  | { kind: NotificationKind; stockNot: StockStatus }
  | { kind: NotificationKind; paymentStatus: PaymentStatus };

export const MESSAGE_EVIDENCE: readonly MessageEvidence[] = (() => {
  const evidence: MessageEvidence[] = [];
  const rows = ORDER_STATUSES.flatMap((from) =>
    (Object.entries(TRANSITIONS[from]) as [OrderEvent, Transition][]).map(([event, t]) => ({ from, event, ...t })),
  );
  const onlyWayInto = (s: OrderStatus) => {
    const into = rows.filter((r) => r.to === s);
    return into.length === 1 ? into[0] : undefined;
  };
  for (const row of rows) {
    if (!row.message) continue;
    if (row.reason) {
      evidence.push({ kind: row.message, status: row.to, reason: row.reason });
      continue;
    }
    if (STOCK_MOVES[INITIAL_STOCK][row.event]) {
      evidence.push({ kind: row.message, stockNot: INITIAL_STOCK });
      continue;
    }
    // Every status reached only through this row, and through the statuses after it.
    const statuses = ORDER_STATUSES.filter((s) => {
      for (let at = onlyWayInto(s); at; at = onlyWayInto(at.from)) if (at === row) return true;
      return false;
    });
    evidence.push({ kind: row.message, statuses });
  }
  for (const f of Object.values(FACT_EFFECTS)) {
    if (f.message && f.paymentStatus) evidence.push({ kind: f.message, paymentStatus: f.paymentStatus });
  }
  // The four Cancelled rows give one piece of evidence.
  return [...new Map(evidence.map((e) => [JSON.stringify(e), e])).values()];
})();

/** The messages the customer should have had by now, given where the order rests. */
export function owedNotifications(order: OrderPosition & { reason: OrderReason | null }): NotificationKind[] {
  const owed = new Set<NotificationKind>();
  for (const e of MESSAGE_EVIDENCE) {
    if (
      'statuses' in e
        ? e.statuses.includes(order.status)
        : 'reason' in e
          ? order.status === e.status && order.reason === e.reason
          : 'stockNot' in e
            ? order.stockStatus !== e.stockNot
            : order.paymentStatus === e.paymentStatus
    ) {
      owed.add(e.kind);
    }
  }
  return NOTIFICATION_KINDS.filter((k) => owed.has(k));
}
