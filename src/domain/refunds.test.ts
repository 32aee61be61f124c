/**
 * The rules every refund follows (domain/refunds.ts): what may still be refunded, and the payment
 * status the order's settled refunds give.
 */
import { describe, expect, it } from 'vitest';
import { capturedCents, paymentAfterRefund, refundableCents } from './refunds.ts';

const order = { paymentStatus: 'CAPTURED', chargeId: 'ch_1', totalCents: 2_000, refundedCents: 0 } as const;

describe('what may still be refunded', () => {
  it('is the capture less every refund asked for, settled or not', () => {
    expect(capturedCents(order)).toBe(2_000);
    expect(refundableCents(order)).toBe(2_000);
    expect(refundableCents({ ...order, paymentStatus: 'REFUND_PENDING', refundedCents: 1_500 })).toBe(500);
    expect(refundableCents({ ...order, paymentStatus: 'PARTIALLY_REFUNDED', refundedCents: 1_999 })).toBe(1);
  });

  it('is nothing without a capture, or once all of it is back', () => {
    expect(refundableCents({ ...order, paymentStatus: 'PENDING', chargeId: null })).toBe(0);
    expect(capturedCents({ ...order, chargeId: null })).toBe(0);
    expect(refundableCents({ ...order, paymentStatus: 'REFUNDED', refundedCents: 2_000 })).toBe(0);
    expect(refundableCents({ ...order, paymentStatus: 'DECLINED' })).toBe(0);
  });
});

describe('the payment status after a refund settles', () => {
  it('stays REFUND_PENDING while another refund waits for the gateway', () => {
    expect(paymentAfterRefund(order, 2_000, 1)).toBe('REFUND_PENDING');
  });

  it('is REFUNDED when the settled refunds add up to the capture, PARTIALLY_REFUNDED otherwise', () => {
    expect(paymentAfterRefund(order, 2_000, 0)).toBe('REFUNDED');
    expect(paymentAfterRefund(order, 500, 0)).toBe('PARTIALLY_REFUNDED');
  });
});
