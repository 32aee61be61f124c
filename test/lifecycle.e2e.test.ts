/**
 * Each branch of the lifecycle end to end: real HTTP, real queues on a private Redis, real SQLite.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, orderBody } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
  h = await Harness.start(options);
  return h;
}

/** The statuses an order went through, leaving out timeline facts that kept it where it was. */
const path = (events: { from: string | null; to: string }[]) => events.filter((e) => e.from !== e.to).map((e) => e.to);

describe('order lifecycle through the real queues', () => {
  it('ships a paid order and completes it on a signed delivery webhook', async () => {
    const h = await start();
    await h.putProduct('SKU-1', 5, 1_250);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
    expect(placed).toMatchObject({ status: 'CREATED', totalCents: 2_500, payment: { status: 'PENDING' } });

    const shipped = await h.waitForStatus(placed.id, 'SHIPPED');
    expect(shipped.payment.status).toBe('CAPTURED');
    expect(shipped.shipment?.trackingNumber).toMatch(/\S/);

    const delivered = await h.deliver(shipped.shipment!.trackingNumber);
    expect(delivered.status).toBe(200);
    const done = await h.getOrder(placed.id);
    expect(done.status).toBe('COMPLETED');
    expect(path(await h.events(placed.id))).toEqual([
      'CREATED',
      'PAYMENT_PENDING',
      'PAID',
      'AWAITING_SHIPMENT',
      'SHIPPED',
      'COMPLETED',
    ]);

    await h.settle();
    const products = (await h.admin('GET', '/products')).json;
    expect(products.products).toEqual([expect.objectContaining({ sku: 'SKU-1', available: 3, reserved: 0, shipped: 2 })]);
    const notifications = (await h.admin('GET', '/sandbox/notifications')).json;
    const kinds = notifications.messages
      .filter((n: { orderId: string }) => n.orderId === placed.id)
      .map((n: { kind: string }) => n.kind)
      .sort();
    expect(kinds).toEqual(['delivered', 'order_confirmed', 'shipped']);
    // The same delivery webhook again changes nothing.
    expect((await h.deliver(shipped.shipment!.trackingNumber)).status).toBe(200);
    expect(path(await h.events(placed.id))).toHaveLength(6);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 5 } })).toEqual([]);
  });

  it('refuses a delivery webhook with a bad or missing signature and leaves the order shipped', async () => {
    const h = await start();
    await h.putProduct('SKU-1', 1);
    const placed = await h.placeOrder();
    const shipped = await h.waitForStatus(placed.id, 'SHIPPED');
    const bad = await h.deliver(shipped.shipment!.trackingNumber, 'not-the-secret');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const unsigned = await h.request('POST', '/webhooks/carrier', {
      trackingNumber: shipped.shipment!.trackingNumber,
      status: 'delivered',
    });
    expect(unsigned.status).toBe(401);
    expect((await h.getOrder(placed.id)).status).toBe('SHIPPED');
  });

  it('fails a declined payment without touching stock', async () => {
    const h = await start();
    await h.putProduct('SKU-1', 3);
    const placed = await h.placeOrder(orderBody('tok_chargeDeclined'));
    const failed = await h.waitForStatus(placed.id, 'FAILED');
    expect(failed).toMatchObject({ reason: 'PAYMENT_DECLINED', payment: { status: 'DECLINED' } });
    expect(path(await h.events(placed.id))).toEqual(['CREATED', 'PAYMENT_PENDING', 'FAILED']);
    await h.settle();
    const kinds = (await h.admin('GET', '/sandbox/notifications')).json.messages.map((n: { kind: string }) => n.kind);
    expect(kinds).toEqual(['payment_declined']);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 3 } })).toEqual([]);
  });

  it('refunds a paid order when the shelf is empty by the time it is reserved', async () => {
    // Placement refuses what is already gone; here the shelf empties between placement and reservation.
    const h = await start({ queues: ['payment', 'shipping', 'notification', 'refund'] });
    await h.putProduct('SKU-1', 2);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
    await h.waitForStatus(placed.id, 'PAID');
    await h.putProduct('SKU-1', 1);
    h.startWorkers(['inventory']);
    const failed = await h.waitForOrder(placed.id, (o) => o.status === 'FAILED' && o.payment.status === 'REFUNDED');
    expect(failed.reason).toBe('OUT_OF_STOCK');
    const events = await h.events(placed.id);
    expect(path(events)).toEqual(['CREATED', 'PAYMENT_PENDING', 'PAID', 'FAILED']);
    expect(events.at(-1)).toMatchObject({ type: 'RefundIssued', from: 'FAILED', to: 'FAILED' });
    await h.settle();
    const payments = (await h.admin('GET', '/sandbox/payments')).json;
    expect(payments.charges).toHaveLength(1);
    expect(payments.refunds).toEqual([expect.objectContaining({ orderId: placed.id, amountCents: failed.totalCents })]);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 1 } })).toEqual([]);
  });

  it('retries a flaky gateway and then ships, charging once', async () => {
    const h = await start();
    await h.putProduct('SKU-1', 1);
    const placed = await h.placeOrder(orderBody('tok_flaky'));
    await h.waitForStatus(placed.id, 'SHIPPED');
    await h.settle();
    const payments = (await h.admin('GET', '/sandbox/payments')).json;
    expect(payments.charges).toHaveLength(1);
    expect(payments.refunds).toHaveLength(0);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 1 } })).toEqual([]);
  });
});

describe('cancellation', () => {
  it('cancels a CREATED order before any payment is asked for', async () => {
    const h = await start({ queues: [] });
    await h.putProduct('SKU-1', 2);
    const placed = await h.placeOrder();
    const res = await h.request('POST', `/orders/${placed.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'CANCELLED', reason: 'CUSTOMER_CANCELLED' });
    // The queued payment job finds the order cancelled and charges nothing.
    h.startWorkers(['payment', 'payment-deadline', 'inventory', 'shipping', 'notification', 'refund']);
    await h.settle();
    expect((await h.admin('GET', '/sandbox/payments')).json.charges).toHaveLength(0);
    expect(path(await h.events(placed.id))).toEqual(['CREATED', 'CANCELLED']);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 2 } })).toEqual([]);
  });

  it('cancels while payment is in flight and refunds the capture that lands afterwards', async () => {
    // The cancel must land before the payment deadline: leave a loaded machine seconds for it.
    const h = await start({ env: { PAYMENT_TIMEOUT_MS: '5000' } });
    await h.putProduct('SKU-1', 2);
    const placed = await h.placeOrder(orderBody('tok_slow'));
    await h.waitForStatus(placed.id, 'PAYMENT_PENDING');
    const res = await h.request('POST', `/orders/${placed.id}/cancel`);
    expect(res.json.status).toBe('CANCELLED');
    const refunded = await h.waitForOrder(placed.id, (o) => o.payment.status === 'REFUNDED');
    expect(refunded.status).toBe('CANCELLED');
    await h.settle();
    const payments = (await h.admin('GET', '/sandbox/payments')).json;
    expect(payments.charges).toHaveLength(1);
    expect(payments.refunds).toHaveLength(1);
    expect((await h.admin('GET', '/products')).json.products[0]).toMatchObject({ available: 2, reserved: 0 });
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 2 } })).toEqual([]);
  });

  it('cancels a PAID order and refunds it', async () => {
    const h = await start({ queues: ['payment', 'payment-deadline', 'notification', 'refund'] });
    await h.putProduct('SKU-1', 2);
    const placed = await h.placeOrder();
    await h.waitForStatus(placed.id, 'PAID');
    expect((await h.request('POST', `/orders/${placed.id}/cancel`)).json.status).toBe('CANCELLED');
    h.startWorkers(['inventory', 'shipping']);
    const refunded = await h.waitForOrder(placed.id, (o) => o.payment.status === 'REFUNDED');
    expect(refunded.status).toBe('CANCELLED');
    await h.settle();
    expect((await h.admin('GET', '/products')).json.products[0]).toMatchObject({ available: 2, reserved: 0 });
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 2 } })).toEqual([]);
  });

  it('cancels an order awaiting shipment, refunds it and puts the stock back', async () => {
    const h = await start({ queues: ['payment', 'payment-deadline', 'inventory', 'notification', 'refund'] });
    await h.putProduct('SKU-1', 2);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
    await h.waitForStatus(placed.id, 'AWAITING_SHIPMENT');
    expect((await h.admin('GET', '/products')).json.products[0]).toMatchObject({ available: 0, reserved: 2 });
    expect((await h.request('POST', `/orders/${placed.id}/cancel`)).json.status).toBe('CANCELLED');
    h.startWorkers(['shipping']);
    await h.waitForOrder(placed.id, (o) => o.payment.status === 'REFUNDED');
    await h.settle();
    expect((await h.admin('GET', '/products')).json.products[0]).toMatchObject({ available: 2, reserved: 0, shipped: 0 });
    const order = await h.getOrder(placed.id);
    expect(order.shipment).toBeNull();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 2 } })).toEqual([]);
  });

  it('refuses to cancel a shipped or failed order with 409, and a second cancel is harmless', async () => {
    // The third order's payment hangs (tok_slow), so that it is still cancellable when the
    // cancels arrive, however fast the workers are; the cancels land well before its deadline.
    const h = await start({ env: { PAYMENT_TIMEOUT_MS: '5000' } });
    await h.putProduct('SKU-1', 2);
    const shipped = await h.placeOrder();
    const declined = await h.placeOrder(orderBody('tok_chargeDeclined'));
    await h.waitForStatus(shipped.id, 'SHIPPED');
    await h.waitForStatus(declined.id, 'FAILED');
    for (const id of [shipped.id, declined.id]) {
      const res = await h.request('POST', `/orders/${id}/cancel`);
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.json).toMatchObject({ status: 409, title: expect.any(String), detail: expect.any(String) });
    }
    expect((await h.getOrder(shipped.id)).status).toBe('SHIPPED');

    const third = await h.placeOrder(orderBody('tok_slow'));
    await h.waitForStatus(third.id, 'PAYMENT_PENDING');
    const first = await h.request('POST', `/orders/${third.id}/cancel`);
    const second = await h.request('POST', `/orders/${third.id}/cancel`);
    expect([first.json.status, second.status, second.json.status]).toEqual(['CANCELLED', 200, 'CANCELLED']);
    await h.settle();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 2 } })).toEqual([]);
  });

  it('answers 404 problem documents for unknown orders', async () => {
    const h = await start({ queues: [] });
    for (const [method, p] of [
      ['GET', '/orders/01NOPE'],
      ['GET', '/orders/01NOPE/events'],
      ['POST', '/orders/01NOPE/cancel'],
    ] as const) {
      const res = await h.request(method, p);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});

describe('payment timeout', () => {
  it('fails an order whose payment does not answer in time, and refunds the late capture', async () => {
    const h = await start({ env: { PAYMENT_TIMEOUT_MS: '800' } });
    await h.putProduct('SKU-1', 1);
    const placed = await h.placeOrder(orderBody('tok_slow'));
    const failed = await h.waitForStatus(placed.id, 'FAILED');
    expect(failed.reason).toBe('PAYMENT_TIMEOUT');
    const refunded = await h.waitForOrder(placed.id, (o) => o.payment.status === 'REFUNDED');
    expect(refunded.status).toBe('FAILED');
    await h.settle();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 1 } })).toEqual([]);
  });
});
