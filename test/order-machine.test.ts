import { describe, expect, it } from 'vitest';
import { FACTS } from '../src/domain/events.ts';
import {
  compensationFor,
  FACT_EFFECTS,
  INITIAL_STATUS,
  isAtRest,
  mayReleaseStock,
  NOTIFICATION_FOR_EVENT,
  ORDER_EVENTS,
  ORDER_STATUSES,
  redriveEvents,
  RESTING,
  STOCK_MOVES,
  TRANSITIONS,
  applyEvent,
  isTerminal,
  type OrderEvent,
  type OrderStatus,
} from '../src/domain/order-machine.ts';
import { canMovePayment, PAYMENT_STATUSES } from '../src/domain/payment.ts';

// DESIGN.md's lifecycle table, restated independently of the code under test.
const DESIGN_TABLE: [OrderStatus, OrderEvent, OrderStatus, string | null][] = [
  ['CREATED', 'PaymentRequested', 'PAYMENT_PENDING', null],
  ['PAYMENT_PENDING', 'PaymentSucceeded', 'PAID', null],
  ['PAYMENT_PENDING', 'PaymentFailed', 'FAILED', 'PAYMENT_DECLINED'],
  ['PAYMENT_PENDING', 'PaymentTimedOut', 'FAILED', 'PAYMENT_TIMEOUT'],
  ['PAID', 'InventoryReserved', 'AWAITING_SHIPMENT', null],
  ['PAID', 'InventoryReservationFailed', 'FAILED', 'OUT_OF_STOCK'],
  ['AWAITING_SHIPMENT', 'ShipmentCreated', 'SHIPPED', null],
  ['SHIPPED', 'Delivered', 'COMPLETED', null],
  ['CREATED', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED'],
  ['PAYMENT_PENDING', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED'],
  ['PAID', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED'],
  ['AWAITING_SHIPMENT', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED'],
];

describe('the order lifecycle table', () => {
  it.each(DESIGN_TABLE)('%s --%s--> %s', (from, event, to, reason) => {
    expect(applyEvent(from, event)).toEqual({ ok: true, from, to, reason });
  });

  it('refuses every (state, event) pair the design does not list', () => {
    const allowed = new Set(DESIGN_TABLE.map(([from, event]) => `${from}/${event}`));
    let refused = 0;
    for (const status of ORDER_STATUSES) {
      for (const event of ORDER_EVENTS) {
        if (allowed.has(`${status}/${event}`)) continue;
        const result = applyEvent(status, event);
        expect(result.ok, `${status}/${event}`).toBe(false);
        if (!result.ok) {
          expect(result.refusal).toMatchObject({ kind: 'InvalidTransition', from: status, event });
          expect(result.refusal.message).toContain(status);
        }
        refused++;
      }
    }
    expect(refused).toBe(ORDER_STATUSES.length * ORDER_EVENTS.length - DESIGN_TABLE.length);
  });

  it('holds no transition the design does not list', () => {
    const rows = Object.entries(TRANSITIONS).flatMap(([from, events]) => Object.keys(events).map((e) => `${from}/${e}`));
    expect(rows.sort()).toEqual(DESIGN_TABLE.map(([from, event]) => `${from}/${event}`).sort());
  });

  it('lets nothing leave a terminal state', () => {
    for (const status of ORDER_STATUSES.filter(isTerminal)) {
      for (const event of ORDER_EVENTS) expect(applyEvent(status, event).ok).toBe(false);
    }
    expect(ORDER_STATUSES.filter(isTerminal)).toEqual(['COMPLETED', 'FAILED', 'CANCELLED']);
  });
});

describe('payment statuses', () => {
  it('move only forward, and end in DECLINED, VOIDED or REFUNDED', () => {
    expect(canMovePayment('PENDING', 'CAPTURED')).toBe(true);
    expect(canMovePayment('CAPTURED', 'REFUND_PENDING')).toBe(true);
    expect(canMovePayment('REFUND_PENDING', 'REFUNDED')).toBe(true);
    expect(canMovePayment('CAPTURED', 'PENDING')).toBe(false);
    expect(canMovePayment('REFUNDED', 'REFUND_PENDING')).toBe(false);
    for (const end of ['DECLINED', 'VOIDED', 'REFUNDED'] as const) {
      for (const to of PAYMENT_STATUSES) expect(canMovePayment(end, to)).toBe(false);
    }
  });
});

describe('compensation owed when an order ends badly', () => {
  it('refunds a captured payment and releases reserved stock on cancellation', () => {
    expect(
      compensationFor({ status: 'AWAITING_SHIPMENT', paymentStatus: 'CAPTURED', stockStatus: 'RESERVED' }, 'Cancelled'),
    ).toEqual({
      paymentStatus: 'REFUND_PENDING',
      requests: ['RefundRequested', 'StockReleaseRequested'],
    });
  });

  it('refunds a paid order that finds the shelf empty', () => {
    expect(
      compensationFor({ status: 'PAID', paymentStatus: 'CAPTURED', stockStatus: 'NONE' }, 'InventoryReservationFailed'),
    ).toEqual({
      paymentStatus: 'REFUND_PENDING',
      requests: ['RefundRequested'],
    });
  });

  it('voids the payment of an order cancelled before any charge was asked for', () => {
    expect(compensationFor({ status: 'CREATED', paymentStatus: 'PENDING', stockStatus: 'NONE' }, 'Cancelled')).toEqual({
      paymentStatus: 'VOIDED',
      requests: [],
    });
  });

  it('asks the gateway to void a charge in flight when the customer cancels', () => {
    expect(compensationFor({ status: 'PAYMENT_PENDING', paymentStatus: 'PENDING', stockStatus: 'NONE' }, 'Cancelled')).toEqual({
      requests: ['PaymentVoidRequested'],
    });
  });

  it('waits for the gateway after a timeout, so that a late success is refunded', () => {
    expect(
      compensationFor({ status: 'PAYMENT_PENDING', paymentStatus: 'PENDING', stockStatus: 'NONE' }, 'PaymentTimedOut'),
    ).toEqual({
      requests: [],
    });
  });

  it('owes nothing on the way forward', () => {
    expect(compensationFor({ status: 'PAID', paymentStatus: 'CAPTURED', stockStatus: 'NONE' }, 'InventoryReserved')).toEqual({
      requests: [],
    });
  });
});

// DESIGN.md's side-effect column, restated independently: the message each row owes, and the
// compensation it calls for when the order ends badly.
const DESIGN_CONSEQUENCES: [OrderStatus, OrderEvent, string | null, string[]][] = [
  ['CREATED', 'PaymentRequested', null, []],
  ['PAYMENT_PENDING', 'PaymentSucceeded', null, []],
  ['PAYMENT_PENDING', 'PaymentFailed', 'payment_declined', []],
  ['PAYMENT_PENDING', 'PaymentTimedOut', 'payment_timed_out', []],
  ['PAID', 'InventoryReserved', 'order_confirmed', []],
  ['PAID', 'InventoryReservationFailed', 'out_of_stock', ['refund']],
  ['AWAITING_SHIPMENT', 'ShipmentCreated', 'shipped', []],
  ['SHIPPED', 'Delivered', 'delivered', []],
  ['CREATED', 'Cancelled', 'cancelled', ['voidUnasked']],
  ['PAYMENT_PENDING', 'Cancelled', 'cancelled', ['void']],
  ['PAID', 'Cancelled', 'cancelled', ['refund']],
  ['AWAITING_SHIPMENT', 'Cancelled', 'cancelled', ['refund', 'releaseStock']],
];

// What an order resting in each status waits for: who must move it, and what the reconciler re-emits.
const DESIGN_RESTING: [OrderStatus, string, string[]][] = [
  ['CREATED', 'service', ['OrderPlaced']],
  ['PAYMENT_PENDING', 'service', ['OrderPlaced', 'PaymentTimeoutDue']],
  ['PAID', 'service', ['PaymentSucceeded']],
  ['AWAITING_SHIPMENT', 'outside', ['InventoryReserved']],
  ['SHIPPED', 'outside', []],
  ['COMPLETED', 'nobody', []],
  ['FAILED', 'nobody', []],
  ['CANCELLED', 'nobody', []],
];

describe('what each transition causes', () => {
  it.each(DESIGN_CONSEQUENCES)('%s --%s--> owes %s and calls for %j', (from, event, message, compensation) => {
    const row = TRANSITIONS[from][event]!;
    expect(row.message ?? null).toBe(message);
    expect([...(row.compensation ?? [])]).toEqual(compensation);
  });

  it('lists a consequence for every row of the table, and only for those', () => {
    expect(DESIGN_CONSEQUENCES.map(([from, event]) => `${from}/${event}`).sort()).toEqual(
      DESIGN_TABLE.map(([from, event]) => `${from}/${event}`).sort(),
    );
  });

  it('tells the notification service which event sends which message', () => {
    const expected = Object.fromEntries(
      DESIGN_CONSEQUENCES.filter(([, , message]) => message).map(([, event, message]) => [event, message]),
    );
    expect(NOTIFICATION_FOR_EVENT).toEqual({ ...expected, RefundIssued: 'refunded' });
  });

  it.each(DESIGN_RESTING)('an order resting in %s waits on %s for %j', (status, on, redrive) => {
    expect(RESTING[status].on).toBe(on);
    expect(redriveEvents({ status, paymentStatus: 'CAPTURED', stockStatus: 'NONE' })).toEqual(redrive);
  });

  it('re-drives the compensation an ended order still owes', () => {
    expect(redriveEvents({ status: 'CANCELLED', paymentStatus: 'PENDING', stockStatus: 'RESERVED' })).toEqual([
      'PaymentVoidRequested',
      'StockReleaseRequested',
    ]);
    expect(redriveEvents({ status: 'FAILED', paymentStatus: 'REFUND_PENDING', stockStatus: 'NONE' })).toEqual([
      'RefundRequested',
    ]);
  });

  it('calls an order at rest when nothing of ours is left to do for it', () => {
    expect(isAtRest({ status: 'SHIPPED', paymentStatus: 'CAPTURED', stockStatus: 'SHIPPED' })).toBe(true);
    expect(isAtRest({ status: 'CANCELLED', paymentStatus: 'REFUNDED', stockStatus: 'RELEASED' })).toBe(true);
    expect(isAtRest({ status: 'AWAITING_SHIPMENT', paymentStatus: 'CAPTURED', stockStatus: 'RESERVED' })).toBe(false);
    expect(isAtRest({ status: 'PAID', paymentStatus: 'CAPTURED', stockStatus: 'NONE' })).toBe(false);
    expect(isAtRest({ status: 'FAILED', paymentStatus: 'REFUND_PENDING', stockStatus: 'NONE' })).toBe(false);
    expect(isAtRest({ status: 'CANCELLED', paymentStatus: 'VOIDED', stockStatus: 'RESERVED' })).toBe(false);
  });

  it('releases reserved stock of any ended order, not only a cancelled one', () => {
    expect(mayReleaseStock({ status: 'CANCELLED', paymentStatus: 'REFUNDED', stockStatus: 'RESERVED' })).toBe(true);
    expect(mayReleaseStock({ status: 'FAILED', paymentStatus: 'REFUNDED', stockStatus: 'RESERVED' })).toBe(true);
    expect(mayReleaseStock({ status: 'AWAITING_SHIPMENT', paymentStatus: 'CAPTURED', stockStatus: 'RESERVED' })).toBe(false);
    expect(mayReleaseStock({ status: 'CANCELLED', paymentStatus: 'REFUNDED', stockStatus: 'RELEASED' })).toBe(false);
  });

  it('starts every order in CREATED', () => {
    expect(INITIAL_STATUS).toBe('CREATED');
  });
});

describe('stock beside the status', () => {
  it('is reserved by InventoryReserved, then shipped or released, and moves no other way', () => {
    const moves = Object.entries(STOCK_MOVES).flatMap(([from, steps]) =>
      Object.entries(steps).map(([step, to]) => `${from} --${step}--> ${to}`),
    );
    expect(moves.sort()).toEqual(
      [
        'NONE --InventoryReserved--> RESERVED',
        'RESERVED --ShipmentCreated--> SHIPPED',
        'RESERVED --StockReleased--> RELEASED',
      ].sort(),
    );
  });
});

describe('facts on the timeline', () => {
  it('keep the status, and settle the payment as the design says', () => {
    expect([...FACTS].sort()).toEqual(
      [
        'JobFailed',
        'NotificationRefused',
        'PaymentCapturedLate',
        'PaymentDeclined',
        'PaymentVoided',
        'RefundIssued',
        'StockReleased',
      ].sort(),
    );
    expect(FACT_EFFECTS.PaymentCapturedLate).toEqual({ paymentStatus: 'REFUND_PENDING', requests: ['RefundRequested'] });
    expect(FACT_EFFECTS.RefundIssued).toMatchObject({ paymentStatus: 'REFUNDED', message: 'refunded' });
  });
});
