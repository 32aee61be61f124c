import { describe, expect, it } from 'vitest';
import { compensationFor } from '../src/domain/compensation.ts';
import {
  ORDER_EVENTS,
  ORDER_STATUSES,
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
    expect(compensationFor({ status: 'AWAITING_SHIPMENT', paymentStatus: 'CAPTURED', stockStatus: 'RESERVED' }, 'Cancelled')).toEqual({
      paymentStatus: 'REFUND_PENDING',
      requests: ['RefundRequested', 'StockReleaseRequested'],
    });
  });

  it('refunds a paid order that finds the shelf empty', () => {
    expect(compensationFor({ status: 'PAID', paymentStatus: 'CAPTURED', stockStatus: 'NONE' }, 'InventoryReservationFailed')).toEqual({
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
    expect(compensationFor({ status: 'PAYMENT_PENDING', paymentStatus: 'PENDING', stockStatus: 'NONE' }, 'PaymentTimedOut')).toEqual({
      requests: [],
    });
  });

  it('owes nothing on the way forward', () => {
    expect(compensationFor({ status: 'PAID', paymentStatus: 'CAPTURED', stockStatus: 'NONE' }, 'InventoryReserved')).toEqual({ requests: [] });
  });
});
