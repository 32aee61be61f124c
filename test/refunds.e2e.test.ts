/**
 * Refunds of part of an order, end to end: real HTTP, real queues, the sandbox gateway's ledger.
 * The refunds of an order never pass its capture, however many race for the last cents; each is
 * refunded once at the gateway under its own id, however often its job runs; the full refund of
 * an order that ends after a capture is the refund of whatever is left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PaymentGateway } from '../src/domain/ports.ts';
import { SandboxPaymentGateway } from '../src/sandbox/payment-gateway.ts';
import { Harness, orderBody, type OrderJson } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { sqlNumber, sqlRow, sqlRows, sqlRun } from './support/store.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** A shipped order of 2 x SKU-1 at 1,000 cents: 2,000 captured. */
async function shippedOrder(options: Parameters<typeof Harness.start>[0] = {}): Promise<{ h: Harness; order: OrderJson }> {
  h = await Harness.start(options);
  await h.putProduct('SKU-1', 10, 1_000);
  const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
  const order = await h.waitForStatus(placed.id, 'SHIPPED');
  return { h, order };
}

const refund = (h: Harness, orderId: string, body: unknown, headers: Record<string, string> = {}) =>
  h.request('POST', `/orders/${orderId}/refunds`, body, headers);

const settledPayment = (h: Harness, id: string, status: string) => h.waitForOrder(id, (o) => o.payment.status === status);

describe('partial refunds', () => {
  it('refunds part of a shipped order once at the gateway, and says PARTIALLY_REFUNDED, then REFUNDED', async () => {
    const { h, order } = await shippedOrder();
    const res = await refund(h, order.id, {
      amountCents: 500,
      reason: 'Arrived scratched',
      lines: [{ sku: 'SKU-1', quantity: 1 }],
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      id: expect.stringMatching(/^rf_/),
      amountCents: 500,
      status: 'PENDING',
      reason: 'Arrived scratched',
    });
    expect(res.json.createdAt).toEqual(expect.any(String));

    await settledPayment(h, order.id, 'PARTIALLY_REFUNDED');
    const listed = (await h.request('GET', `/orders/${order.id}/refunds`)).json.refunds;
    expect(listed).toEqual([expect.objectContaining({ id: res.json.id, status: 'SUCCEEDED', amountCents: 500 })]);
    const ledger = (await h.admin('GET', `/sandbox/payments?orderId=${order.id}`)).json;
    expect(ledger.refunds.map((r: { amountCents: number }) => r.amountCents)).toEqual([500]);
    const timeline = await h.events(order.id);
    expect(timeline.filter((e) => e.type === 'RefundRequested' || e.type === 'RefundIssued').map((e) => e.type)).toEqual([
      'RefundRequested',
      'RefundIssued',
    ]);

    // The rest, asked for by the operator: the order is then REFUNDED, its status unmoved.
    const rest = await h.admin('POST', `/orders/${order.id}/refunds`, { amountCents: 1_500, reason: 'Goodwill' });
    expect(rest.status).toBe(201);
    const done = await settledPayment(h, order.id, 'REFUNDED');
    expect(done.status).toBe('SHIPPED');
    await h.settle();
    const messages = (await h.admin('GET', `/sandbox/notifications?orderId=${order.id}`)).json.messages;
    expect(messages.filter((m: { kind: string }) => m.kind === 'refunded')).toHaveLength(2);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });

  it('refuses one of two refunds racing for the last cents with a 409 naming what is left', async () => {
    const { h, order } = await shippedOrder({ queues: ['payment', 'inventory', 'shipping', 'notification'] });
    // Ten refunds of 300 at once against 2,000 captured: six fit, four do not.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => refund(h, order.id, { amountCents: 300, reason: `race ${i}` })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 409, 409, 409, 409]);
    for (const refused of results.filter((r) => r.status === 409)) {
      expect(refused.json.detail).toMatch(/Only 200 cents/);
      expect(refused.json.errors).toEqual([{ field: 'amountCents', message: 'at most 200 cents are left to refund' }]);
    }
    // The last cents: two racing for 200, one wins.
    const last = await Promise.all([1, 2].map(() => refund(h, order.id, { amountCents: 200, reason: 'last' })));
    expect(last.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(last.find((r) => r.status === 409)!.json.detail).toMatch(/Only 0 cents/);
    expect(await sqlNumber(h.db, 'SELECT sum(amount_cents) AS n FROM refunds WHERE order_id = ?', order.id)).toBe(2_000);

    h.startWorkers(['refund']);
    await settledPayment(h, order.id, 'REFUNDED');
    await h.settle();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });

  it('answers a retry with the same Idempotency-Key with the first refund, and refuses the key with another body', async () => {
    const { h, order } = await shippedOrder();
    const body = { amountCents: 250, reason: 'Late delivery' };
    const first = await refund(h, order.id, body, { 'Idempotency-Key': 'refund-1' });
    const again = await refund(h, order.id, body, { 'Idempotency-Key': 'refund-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    const other = await refund(h, order.id, { ...body, amountCents: 260 }, { 'Idempotency-Key': 'refund-1' });
    expect(other.status).toBe(422);
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM refunds WHERE order_id = ?', order.id)).toBe(1);
    await settledPayment(h, order.id, 'PARTIALLY_REFUNDED');
  });

  it.each([
    [{ amountCents: 0, reason: 'x' }, 400, 'amountCents'],
    [{ amountCents: 100 }, 400, 'reason'],
    [{ amountCents: 100, reason: 'x', extra: 1 }, 400, ''],
    [{ amountCents: 100.5, reason: 'x' }, 400, 'amountCents'],
    [{ amountCents: 100, reason: 'x', lines: [{ sku: 'SKU-9', quantity: 1 }] }, 422, 'lines.0.sku'],
    [{ amountCents: 100, reason: 'x', lines: [{ sku: 'SKU-1', quantity: 3 }] }, 422, 'lines.0.quantity'],
    [{ amountCents: 1_500, reason: 'x', lines: [{ sku: 'SKU-1', quantity: 1 }] }, 422, 'amountCents'],
    [{ amountCents: 2_001, reason: 'x' }, 409, 'amountCents'],
  ])('refuses %j with a %i naming the field, and writes nothing', async (body, status, field) => {
    const { h, order } = await shippedOrder({ queues: ['payment', 'inventory', 'shipping'] });
    const before = await h.rowCounts();
    const res = await refund(h, order.id, body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    if (field) expect(res.json.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await h.rowCounts()).toEqual(before);
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM refunds')).toBe(0);
  });

  it('refuses a refund of an order not yet paid, and of an unknown order', async () => {
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 10, 1_000);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }]));
    expect((await refund(h, placed.id, { amountCents: 100, reason: 'x' })).status).toBe(409);
    expect((await refund(h, 'ord_01JD5ZQ0N6W8J7Y3K2V1B0C9XA', { amountCents: 100, reason: 'x' })).status).toBe(404);
  });
});

describe('the full refund of an ended order', () => {
  it('refunds what partial refunds left when the order is cancelled', async () => {
    h = await Harness.start({ queues: ['payment', 'inventory', 'notification', 'refund'] });
    await h.putProduct('SKU-1', 10, 1_000);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
    await h.waitForStatus(placed.id, 'AWAITING_SHIPMENT');
    expect((await refund(h, placed.id, { amountCents: 300, reason: 'Price match' })).status).toBe(201);
    await settledPayment(h, placed.id, 'PARTIALLY_REFUNDED');
    expect((await h.request('POST', `/orders/${placed.id}/cancel`)).status).toBe(200);
    await settledPayment(h, placed.id, 'REFUNDED');
    const refunds = (await h.request('GET', `/orders/${placed.id}/refunds`)).json.refunds;
    expect(refunds.map((r: { amountCents: number; status: string }) => [r.amountCents, r.status])).toEqual([
      [300, 'SUCCEEDED'],
      [1_700, 'SUCCEEDED'],
    ]);
    // The shipping job the order left behind finds it cancelled.
    h.startWorkers(['shipping']);
    await h.settle();
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});

describe('an order that waited for its refund before refunds had rows', () => {
  it('is refunded once, under the gateway key the earlier version used', async () => {
    h = await Harness.start({ queues: ['payment', 'inventory', 'notification'] });
    await h.putProduct('SKU-1', 10, 1_000);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
    await h.waitForStatus(placed.id, 'AWAITING_SHIPMENT');
    expect((await h.request('POST', `/orders/${placed.id}/cancel`)).status).toBe(200);
    // As the earlier version left it: REFUND_PENDING, no refund row, and the gateway already asked.
    await sqlRun(h.db, 'DELETE FROM refunds WHERE order_id = ?', placed.id);
    await sqlRun(h.db, 'UPDATE orders SET refunded_cents = 0 WHERE id = ?', placed.id);
    const chargeId = (await sqlRow<{ chargeId: string }>(
      h.db,
      'SELECT charge_id AS "chargeId" FROM orders WHERE id = ?',
      placed.id,
    ))!.chargeId;
    const gateway = new SandboxPaymentGateway(h.db, { latencyMs: 0, slowAnswerMs: 0 });
    await gateway.refund({ idempotencyKey: `refund-${placed.id}`, orderId: placed.id, chargeId, amountCents: 2_000 });

    h.startWorkers(['refund', 'shipping']);
    await h.service.queues.refund.add('RefundRequested', { orderId: placed.id, outboxId: 0 }, { jobId: 'after-upgrade' });
    await settledPayment(h, placed.id, 'REFUNDED');
    await h.settle();
    const refunds = (await h.request('GET', `/orders/${placed.id}/refunds`)).json.refunds;
    expect(refunds).toEqual([expect.objectContaining({ id: `refund-${placed.id}`, amountCents: 2_000, status: 'SUCCEEDED' })]);
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(1);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});

describe('a refund’s message lost with Redis', () => {
  it('is sent once the reconciler finds the settled refund without it', async () => {
    h = await Harness.start({ queues: ['payment', 'inventory', 'shipping', 'refund'], env: { STUCK_AFTER_MS: '200' } });
    await h.putProduct('SKU-1', 10, 1_000);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
    await h.waitForStatus(placed.id, 'SHIPPED');
    const res = await refund(h, placed.id, { amountCents: 700, reason: 'Dented' });
    await settledPayment(h, placed.id, 'PARTIALLY_REFUNDED');
    await h.service.relay.flush();
    await h.service.queues.notification.obliterate({ force: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const redriven = await h.reconcile();
    expect(redriven.find((r) => r.orderId === placed.id)?.events).toContain('RefundIssued');
    h.startWorkers(['notification']);
    await h.settle();
    const sent = (await sqlRows(h.db, `SELECT subject FROM sent_notifications WHERE kind = 'refunded'`)) as { subject: string }[];
    expect(sent.map((s) => s.subject)).toEqual([res.json.id]);
    expect(await h.reconcile()).toEqual([]);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});

describe('a refund job run again', () => {
  it('refunds once at the gateway when the job fails after the gateway answered, and when it runs twice', async () => {
    h = await Harness.start({ queues: ['payment', 'inventory', 'shipping', 'notification'] });
    await h.putProduct('SKU-1', 10, 1_000);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 2 }]));
    await h.waitForStatus(placed.id, 'SHIPPED');
    // The gateway refunds, then the worker loses the answer (as one killed before its record would).
    const real = new SandboxPaymentGateway(h.db, { latencyMs: 0, slowAnswerMs: 0 });
    let lost = 0;
    const losing: PaymentGateway = {
      charge: (r) => real.charge(r),
      void: (r) => real.void(r),
      refund: async (r) => {
        const answer = await real.refund(r);
        if (lost++ < 2) throw new Error('the worker lost the gateway’s answer');
        return answer;
      },
    };
    h.startWorkers(['refund'], { gateway: losing });
    h.startWorkers(['refund'], { gateway: losing });
    const first = await refund(h, placed.id, { amountCents: 400, reason: 'one' });
    const second = await refund(h, placed.id, { amountCents: 600, reason: 'two' });
    await settledPayment(h, placed.id, 'PARTIALLY_REFUNDED');
    await h.settle();
    expect(lost).toBeGreaterThan(2);
    const ledger = (await sqlRows(
      h.db,
      'SELECT idempotency_key AS key, amount_cents AS amount FROM sandbox_refunds ORDER BY amount_cents',
    )) as {
      key: string;
      amount: number;
    }[];
    expect(ledger.map((l) => [l.key, Number(l.amount)])).toEqual([
      [first.json.id, 400],
      [second.json.id, 600],
    ]);
    // The job once more, by hand: nothing is left to refund.
    await h.service.queues.refund.add('RefundRequested', { orderId: placed.id, outboxId: 0 }, { jobId: 'by-hand' });
    await h.settle();
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(2);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});
