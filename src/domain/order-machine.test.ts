import { describe, expect, it } from 'vitest';
import { FACTS } from './events.ts';
import {
  awaitsGatewayAnswer,
  awaitsRefund,
  awaitsVoid,
  COMPENSATIONS,
  compensationFor,
  FACT_EFFECTS,
  INITIAL_PAYMENT_STATUS,
  INITIAL_STATUS,
  INITIAL_STOCK,
  isAtRest,
  MESSAGE_EVIDENCE,
  mayReleaseStock,
  NOTIFICATION_FOR_EVENT,
  ORDER_EVENTS,
  ORDER_STATUSES,
  redriveEvents,
  RESTING,
  STOCK_MOVES,
  STOCK_STATUSES,
  TRANSITIONS,
  applyEvent,
  isTerminal,
  type OrderEvent,
  type OrderStatus,
  type StockStatus,
} from './order-machine.ts';
import { canMovePayment, PAYMENT_STATUSES, type PaymentStatus } from './payment.ts';

// DESIGN.md's lifecycle table, restated independently of the code under test, with the payment
// status each row records beside the order's ("PENDING until the gateway has answered").
const DESIGN_TABLE: [OrderStatus, OrderEvent, OrderStatus, string | null, string | null][] = [
  ['CREATED', 'PaymentRequested', 'PAYMENT_PENDING', null, null],
  ['PAYMENT_PENDING', 'PaymentSucceeded', 'PAID', null, 'CAPTURED'],
  ['PAYMENT_PENDING', 'PaymentFailed', 'FAILED', 'PAYMENT_DECLINED', 'DECLINED'],
  ['PAYMENT_PENDING', 'PaymentTimedOut', 'FAILED', 'PAYMENT_TIMEOUT', null],
  ['PAID', 'InventoryReserved', 'AWAITING_SHIPMENT', null, null],
  ['PAID', 'InventoryReservationFailed', 'FAILED', 'OUT_OF_STOCK', null],
  ['AWAITING_SHIPMENT', 'ShipmentCreated', 'SHIPPED', null, null],
  ['SHIPPED', 'Delivered', 'COMPLETED', null, null],
  ['CREATED', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED', null],
  ['PAYMENT_PENDING', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED', null],
  ['PAID', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED', null],
  ['AWAITING_SHIPMENT', 'Cancelled', 'CANCELLED', 'CUSTOMER_CANCELLED', null],
];

describe('the order lifecycle table', () => {
  it.each(DESIGN_TABLE)('%s --%s--> %s (reason %s, payment %s)', (from, event, to, reason, paymentStatus) => {
    expect(applyEvent(from, event)).toEqual({ ok: true, from, to, reason, paymentStatus });
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
    // A partial refund settles PARTIALLY_REFUNDED, and the next one takes it back to REFUND_PENDING.
    expect(canMovePayment('REFUND_PENDING', 'PARTIALLY_REFUNDED')).toBe(true);
    expect(canMovePayment('PARTIALLY_REFUNDED', 'REFUND_PENDING')).toBe(true);
    expect(canMovePayment('PARTIALLY_REFUNDED', 'REFUNDED')).toBe(false);
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
      refundsRemainder: true,
    });
  });

  it('refunds what partial refunds left of the capture, and nothing when they took it all', () => {
    const order = { status: 'PAID', paymentStatus: 'PARTIALLY_REFUNDED', stockStatus: 'NONE' } as const;
    expect(compensationFor({ ...order, refundableCents: 700 }, 'Cancelled')).toEqual({
      paymentStatus: 'REFUND_PENDING',
      requests: ['RefundRequested'],
      refundsRemainder: true,
    });
    // A partial refund still at the gateway: the payment stays REFUND_PENDING, and the rest is asked for too.
    expect(compensationFor({ ...order, paymentStatus: 'REFUND_PENDING', refundableCents: 700 }, 'Cancelled')).toEqual({
      requests: ['RefundRequested'],
      refundsRemainder: true,
    });
    expect(compensationFor({ ...order, paymentStatus: 'REFUND_PENDING', refundableCents: 0 }, 'Cancelled')).toEqual({
      requests: [],
    });
  });

  it('refunds a paid order that finds the shelf empty', () => {
    expect(
      compensationFor({ status: 'PAID', paymentStatus: 'CAPTURED', stockStatus: 'NONE' }, 'InventoryReservationFailed'),
    ).toEqual({
      paymentStatus: 'REFUND_PENDING',
      requests: ['RefundRequested'],
      refundsRemainder: true,
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
    expect(NOTIFICATION_FOR_EVENT).toEqual({
      ...expected,
      RefundIssued: 'refunded',
      ReturnRequested: 'return_requested',
      ReturnReceived: 'return_received',
      ReturnRejected: 'return_rejected',
      ReturnCancelled: 'return_cancelled',
    });
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

  it('starts every order in CREATED, its payment PENDING and no stock held', () => {
    expect(INITIAL_STATUS).toBe('CREATED');
    expect(INITIAL_PAYMENT_STATUS).toBe('PENDING');
    expect(INITIAL_STOCK).toBe('NONE');
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
        'RefundRequested',
        'RefundIssued',
        'StockReleased',
        'ReturnRequested',
        'ReturnReceived',
        'ReturnRefunded',
        'ReturnRejected',
        'ReturnCancelled',
      ].sort(),
    );
    expect(FACT_EFFECTS.PaymentCapturedLate).toEqual({
      paymentStatus: 'REFUND_PENDING',
      requests: ['RefundRequested'],
      refundsRemainder: true,
    });
    expect(FACT_EFFECTS.RefundRequested).toEqual({ paymentStatus: 'REFUND_PENDING', requests: ['RefundRequested'] });
    // Its payment status follows from the order's refunds (refunds.test.ts).
    expect(FACT_EFFECTS.RefundIssued).toMatchObject({ paymentByRefunds: true, message: 'refunded' });
  });
});

// When each compensation applies (DESIGN.md: "release stock if reserved, refund if paid", a void
// for a charge that may be in flight, and VOIDED "when the order ended before any charge was asked
// for"), restated as a small oracle independent of COMPENSATIONS.
const ENDED: readonly string[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

function designCompensation(
  position: { paymentStatus: PaymentStatus; stockStatus: StockStatus },
  asked: readonly string[],
): { paymentStatus?: PaymentStatus; requests: string[]; refundsRemainder?: true } {
  let paymentStatus: PaymentStatus | undefined;
  let refundsRemainder: true | undefined;
  const requests: string[] = [];
  for (const name of asked) {
    // What is left of a capture, partly refunded or not, is refunded.
    if (name === 'refund' && ['CAPTURED', 'PARTIALLY_REFUNDED', 'REFUND_PENDING'].includes(position.paymentStatus)) {
      if (position.paymentStatus !== 'REFUND_PENDING') paymentStatus = 'REFUND_PENDING';
      requests.push('RefundRequested');
      refundsRemainder = true;
    }
    if (name === 'void' && position.paymentStatus === 'PENDING') requests.push('PaymentVoidRequested');
    if (name === 'voidUnasked' && position.paymentStatus === 'PENDING') paymentStatus = 'VOIDED';
    if (name === 'releaseStock' && position.stockStatus === 'RESERVED') requests.push('StockReleaseRequested');
  }
  return { ...(paymentStatus ? { paymentStatus } : {}), requests, ...(refundsRemainder ? { refundsRemainder } : {}) };
}

/** The compensation work still owed by an order standing here, whoever asks (reconciler or plan). */
function designOwed(position: { status: OrderStatus; paymentStatus: PaymentStatus; stockStatus: StockStatus }): string[] {
  const ended = ENDED.includes(position.status);
  return [
    ...(position.paymentStatus === 'REFUND_PENDING' ? ['RefundRequested'] : []),
    ...(ended && position.paymentStatus === 'PENDING' ? ['PaymentVoidRequested'] : []),
    ...(ended && position.stockStatus === 'RESERVED' ? ['StockReleaseRequested'] : []),
  ];
}

const POSITIONS = ORDER_STATUSES.flatMap((status) =>
  PAYMENT_STATUSES.flatMap((paymentStatus) => STOCK_STATUSES.map((stockStatus) => ({ status, paymentStatus, stockStatus }))),
);

describe('the compensation table', () => {
  it('says when each compensation applies, what it sets and asks for, and while it is owed', () => {
    expect(COMPENSATIONS).toEqual({
      refund: {
        calledFor: { paymentStatus: ['CAPTURED', 'REFUND_PENDING', 'PARTIALLY_REFUNDED'], refundable: true },
        setsPayment: 'REFUND_PENDING',
        refundsRemainder: true,
        request: { event: 'RefundRequested', owedWhile: { paymentStatus: 'REFUND_PENDING' }, settledBy: 'RefundIssued' },
      },
      void: {
        calledFor: { paymentStatus: 'PENDING' },
        request: {
          event: 'PaymentVoidRequested',
          owedWhile: { ended: true, paymentStatus: 'PENDING' },
          settledBy: 'PaymentVoided',
        },
      },
      voidUnasked: { calledFor: { paymentStatus: 'PENDING' }, setsPayment: 'VOIDED' },
      releaseStock: {
        calledFor: { stockStatus: 'RESERVED' },
        request: {
          event: 'StockReleaseRequested',
          owedWhile: { ended: true, stockStatus: 'RESERVED' },
          settledBy: 'StockReleased',
        },
      },
    });
  });

  it('gives every row, in every position it can be taken from, the compensation the design asks', () => {
    let checked = 0;
    for (const [from, event, , asked] of DESIGN_CONSEQUENCES) {
      for (const position of POSITIONS.filter((p) => p.status === from)) {
        expect(compensationFor(position, event), `${from}/${event} ${position.paymentStatus} ${position.stockStatus}`).toEqual(
          designCompensation(position, asked),
        );
        checked++;
      }
    }
    expect(checked).toBe(DESIGN_CONSEQUENCES.length * PAYMENT_STATUSES.length * STOCK_STATUSES.length);
  });

  it('re-drives, in every position, what the order rests on and the compensation it still owes', () => {
    for (const position of POSITIONS) {
      const rest = DESIGN_RESTING.find(([s]) => s === position.status)![2];
      expect(redriveEvents(position), JSON.stringify(position)).toEqual([...rest, ...designOwed(position)]);
    }
  });

  it('hands each service the same answer as the reconciler: a refund, a void, a stock release to do', () => {
    for (const position of POSITIONS) {
      const owed = designOwed(position);
      expect(awaitsRefund(position), JSON.stringify(position)).toBe(owed.includes('RefundRequested'));
      expect(awaitsVoid(position), JSON.stringify(position)).toBe(owed.includes('PaymentVoidRequested'));
      expect(mayReleaseStock(position), JSON.stringify(position)).toBe(owed.includes('StockReleaseRequested'));
    }
  });

  it('awaits the gateway only while the payment is PENDING', () => {
    expect(PAYMENT_STATUSES.filter((paymentStatus) => awaitsGatewayAnswer({ paymentStatus }))).toEqual(['PENDING']);
  });
});

describe('what proves a message is owed', () => {
  it('is read off the rows and facts, one tagged piece of evidence per way a message comes to be owed', () => {
    expect([...MESSAGE_EVIDENCE].sort((a, b) => a.kind.localeCompare(b.kind))).toEqual(
      [
        { by: 'reason', kind: 'payment_declined', status: 'FAILED', reason: 'PAYMENT_DECLINED' },
        { by: 'reason', kind: 'payment_timed_out', status: 'FAILED', reason: 'PAYMENT_TIMEOUT' },
        { by: 'stockMoved', kind: 'order_confirmed', from: 'NONE' },
        { by: 'reason', kind: 'out_of_stock', status: 'FAILED', reason: 'OUT_OF_STOCK' },
        { by: 'statuses', kind: 'shipped', statuses: ['SHIPPED', 'COMPLETED'] },
        { by: 'statuses', kind: 'delivered', statuses: ['COMPLETED'] },
        { by: 'reason', kind: 'cancelled', status: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' },
      ].sort((a, b) => a.kind.localeCompare(b.kind)),
    );
  });
});
