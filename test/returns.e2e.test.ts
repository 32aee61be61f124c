/**
 * Returns end to end: opened for units that shipped, received (by an operator or the carrier's
 * parcel back) once however often it is asked, their units back on sale and their amount refunded
 * once; rejected or cancelled, their units free to return again. Stock is conserved at every step.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { signBody } from '../src/api/webhooks.ts';
import { Harness, ManualClock, WEBHOOK_SECRET, orderBody, type OrderJson } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';
import { stockViolationsNow } from './support/money-back-invariants.ts';
import { sqlNumber } from './support/store.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const STOCK = { 'SKU-1': 10, 'SKU-2': 5 };
const DAY_MS = 24 * 60 * 60 * 1000;

/** A shipped order of 3 x SKU-1 at 1,000 and 1 x SKU-2 at 2,500: 5,500 captured. */
async function shippedOrder(options: Parameters<typeof Harness.start>[0] = {}): Promise<{ h: Harness; order: OrderJson }> {
  h = await Harness.start(options);
  await h.putProduct('SKU-1', STOCK['SKU-1'], 1_000);
  await h.putProduct('SKU-2', STOCK['SKU-2'], 2_500);
  const placed = await h.placeOrder(
    orderBody('tok_visa', [
      { sku: 'SKU-1', quantity: 3 },
      { sku: 'SKU-2', quantity: 1 },
    ]),
  );
  const order = await h.waitForStatus(placed.id, 'SHIPPED');
  return { h, order };
}

const openReturn = (h: Harness, orderId: string, body: unknown) => h.request('POST', `/orders/${orderId}/returns`, body);

async function product(h: Harness, sku: string) {
  const products = (await h.admin('GET', '/products')).json.products as {
    sku: string;
    available: number;
    reserved: number;
    shipped: number;
    returned: number;
  }[];
  return products.find((p) => p.sku === sku)!;
}

/** Between steps, with jobs still running: stock conserved, and no return claims or restocks too much. */
async function conservedNow(h: Harness) {
  expect(await stockViolationsNow(h.db, STOCK)).toEqual([]);
}

/** At rest: every invariant, messages included. */
async function conserved(h: Harness) {
  expect(await invariantViolations(h.db, { initialStock: STOCK })).toEqual([]);
}

describe('a return', () => {
  it('restocks and refunds once on receipt, received twice, with stock conserved at every step', async () => {
    const { h, order } = await shippedOrder();
    const opened = await openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 2 }], reason: 'Too small' });
    expect(opened.status).toBe(201);
    expect(opened.json).toMatchObject({
      id: expect.stringMatching(/^rt_/),
      status: 'REQUESTED',
      items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 1_000 }],
      reason: 'Too small',
      refund: null,
    });
    await h.settle();
    await conserved(h);
    expect(await product(h, 'SKU-1')).toMatchObject({ available: 7, shipped: 3, returned: 0 });

    const received = await h.admin('POST', `/returns/${opened.json.id}/receive`);
    expect(received.status).toBe(200);
    expect(received.json).toMatchObject({ status: 'RECEIVED', refund: { amountCents: 2_000, status: 'PENDING' } });
    expect(await product(h, 'SKU-1')).toMatchObject({ available: 9, shipped: 1, returned: 2 });
    await conservedNow(h);

    // Received again (an operator's double click, say): nothing moves twice.
    const again = await h.admin('POST', `/returns/${opened.json.id}/receive`);
    expect(again.status).toBe(200);
    expect(await product(h, 'SKU-1')).toMatchObject({ available: 9, shipped: 1, returned: 2 });

    const refunded = await h.waitForOrder(order.id, (o) => o.payment.status === 'PARTIALLY_REFUNDED');
    expect(refunded.status).toBe('SHIPPED');
    await h.settle();
    const [ret] = (await h.request('GET', `/orders/${order.id}/returns`)).json.returns;
    expect(ret).toMatchObject({ id: opened.json.id, status: 'REFUNDED', refund: { amountCents: 2_000, status: 'SUCCEEDED' } });
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(1);
    const kinds = (await h.admin('GET', `/sandbox/notifications?orderId=${order.id}`)).json.messages.map(
      (m: { kind: string }) => m.kind,
    );
    expect(kinds.filter((k: string) => k.startsWith('return_') || k === 'refunded').sort()).toEqual([
      'refunded',
      'return_received',
      'return_requested',
    ]);
    const types = (await h.events(order.id)).map((e) => e.type);
    expect(types.filter((t) => t.startsWith('Return'))).toEqual(['ReturnRequested', 'ReturnReceived', 'ReturnRefunded']);
    expect(types.filter((t) => t === 'ReturnReceived')).toHaveLength(1);
    expect((await h.admin('POST', `/returns/${opened.json.id}/reject`)).status).toBe(409);
    await conserved(h);
  });

  it('refuses more units than shipped and not yet returned, naming the line, and writes nothing', async () => {
    const { h, order } = await shippedOrder({ queues: ['payment', 'inventory', 'shipping'] });
    expect((await openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 2 }], reason: 'first' })).status).toBe(201);
    const before = await h.rowCounts();
    const tooMany = await openReturn(h, order.id, {
      items: [
        { sku: 'SKU-2', quantity: 1 },
        { sku: 'SKU-1', quantity: 2 },
      ],
      reason: 'second',
    });
    expect(tooMany.status).toBe(422);
    expect(tooMany.json.errors).toEqual([{ field: 'items.1.quantity', message: '1 of SKU-1 can still be returned (3 shipped)' }]);
    const notOnOrder = await openReturn(h, order.id, { items: [{ sku: 'SKU-3', quantity: 1 }], reason: 'x' });
    expect(notOnOrder.status).toBe(422);
    expect(notOnOrder.json.errors[0].field).toBe('items.0.sku');
    for (const [body, field] of [
      [{ items: [], reason: 'x' }, 'items'],
      [{ items: [{ sku: 'SKU-1', quantity: 0 }], reason: 'x' }, 'items.0.quantity'],
      [{ items: [{ sku: 'SKU-1', quantity: 1 }] }, 'reason'],
      [{ items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'x', refund: true }, ''],
    ] as const) {
      const res = await openReturn(h, order.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      if (field) expect(res.json.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    expect(await h.rowCounts()).toEqual(before);
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM returns')).toBe(1);
    // Two racing for the last SKU-1: one is refused.
    const race = await Promise.all(
      [1, 2].map(() => openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'race' })),
    );
    expect(race.map((r) => r.status).sort()).toEqual([201, 422]);
  });

  it('frees its units when rejected or cancelled, and refuses a receipt after', async () => {
    const { h, order } = await shippedOrder();
    const first = await openReturn(h, order.id, { items: [{ sku: 'SKU-2', quantity: 1 }], reason: 'Changed my mind' });
    const rejected = await h.admin('POST', `/returns/${first.json.id}/reject`);
    expect(rejected.json.status).toBe('REJECTED');
    expect((await h.admin('POST', `/returns/${first.json.id}/reject`)).status).toBe(200);
    expect((await h.admin('POST', `/returns/${first.json.id}/receive`)).status).toBe(409);
    const second = await openReturn(h, order.id, { items: [{ sku: 'SKU-2', quantity: 1 }], reason: 'Really' });
    expect(second.status).toBe(201);
    const cancelled = await h.request('POST', `/orders/${order.id}/returns/${second.json.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.status).toBe('CANCELLED');
    expect((await h.request('POST', `/orders/${order.id}/returns/rt_unknown/cancel`)).status).toBe(404);
    expect((await h.admin('GET', '/returns')).json.returns).toEqual([]);
    await h.settle();
    expect(await product(h, 'SKU-2')).toMatchObject({ available: 4, shipped: 1, returned: 0 });
    const kinds = (await h.admin('GET', `/sandbox/notifications?orderId=${order.id}`)).json.messages.map(
      (m: { kind: string }) => m.kind,
    );
    expect(kinds.filter((k: string) => k.startsWith('return_')).sort()).toEqual([
      'return_cancelled',
      'return_rejected',
      'return_requested',
      'return_requested',
    ]);
    await conserved(h);
  });

  it('is received when the carrier reports the parcel back, once however often it reports it', async () => {
    const { h, order } = await shippedOrder();
    const opened = await openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'Broken' });
    expect((await h.admin('GET', '/returns')).json.returns.map((r: { id: string }) => r.id)).toEqual([opened.json.id]);
    const raw = JSON.stringify({ trackingNumber: order.shipment!.trackingNumber, status: 'returned' });
    for (let i = 0; i < 2; i++) {
      const res = await h.request('POST', '/webhooks/carrier', raw, { 'x-signature': signBody(raw, WEBHOOK_SECRET) });
      expect(res.status).toBe(200);
    }
    await h.waitForOrder(order.id, (o) => o.payment.status === 'PARTIALLY_REFUNDED');
    await h.settle();
    expect(await product(h, 'SKU-1')).toMatchObject({ available: 8, shipped: 2, returned: 1 });
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(1);
    await conserved(h);
  });
});

describe('the carrier’s report of a parcel back, naming its return', () => {
  it('receives only the return its label names; another order’s return is a 404 and one cancelled a 409, writing nothing', async () => {
    const { h, order } = await shippedOrder();
    const first = await openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'Broken' });
    const second = await openReturn(h, order.id, { items: [{ sku: 'SKU-2', quantity: 1 }], reason: 'Wrong colour' });
    const third = await openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'Changed my mind' });
    expect([first.status, second.status, third.status]).toEqual([201, 201, 201]);
    expect((await h.request('POST', `/orders/${order.id}/returns/${third.json.id}/cancel`)).status).toBe(200);
    const report = (body: Record<string, string>) => {
      const raw = JSON.stringify({ trackingNumber: order.shipment!.trackingNumber, ...body });
      return h.request('POST', '/webhooks/carrier', raw, { 'x-signature': signBody(raw, WEBHOOK_SECRET) });
    };
    await h.settle();
    const before = await sqlNumber(h.db, 'SELECT count(*) AS n FROM order_events');

    // Bad input, another order's return, a cancelled return: refused, nothing written.
    const mixed = await report({ status: 'delivered', returnId: second.json.id });
    expect(mixed.status).toBe(400);
    expect(JSON.stringify(mixed.json)).toContain('returnId');
    expect((await report({ status: 'returned', returnId: 'rt_nothing' })).status).toBe(404);
    expect((await report({ status: 'returned', returnId: third.json.id })).status).toBe(409);
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM order_events')).toBe(before);

    for (let i = 0; i < 2; i++) expect((await report({ status: 'returned', returnId: second.json.id })).status).toBe(200);
    const returns = (await h.request('GET', `/orders/${order.id}/returns`)).json.returns as { id: string; status: string }[];
    const statusOf = (id: string) => returns.find((r) => r.id === id)?.status;
    expect(statusOf(first.json.id)).toBe('REQUESTED');
    expect(['RECEIVED', 'REFUNDED']).toContain(statusOf(second.json.id));
    expect(statusOf(third.json.id)).toBe('CANCELLED');
    await h.settle();
    expect(await product(h, 'SKU-2')).toMatchObject({ shipped: 0, returned: 1 });
    expect(await product(h, 'SKU-1')).toMatchObject({ shipped: 3, returned: 0 });
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM sandbox_refunds')).toBe(1);
    await conserved(h);
  });
});

describe('a return’s message lost with Redis', () => {
  it('is sent once the reconciler finds the return without it', async () => {
    const { h, order } = await shippedOrder({ queues: ['payment', 'inventory', 'shipping'], env: { STUCK_AFTER_MS: '200' } });
    const opened = await openReturn(h, order.id, { items: [{ sku: 'SKU-2', quantity: 1 }], reason: 'Wrong colour' });
    await h.service.relay.flush();
    await h.service.queues.notification.obliterate({ force: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const redriven = await h.reconcile();
    expect(redriven.find((r) => r.orderId === order.id)?.events).toContain('ReturnRequested');
    h.startWorkers(['notification']);
    await h.settle();
    const sent = await sqlNumber(
      h.db,
      `SELECT count(*) AS n FROM sent_notifications WHERE kind = 'return_requested' AND subject = ?`,
      opened.json.id,
    );
    expect(sent).toBe(1);
    await conserved(h);
  });
});

describe('the return window', () => {
  it('takes a return within RETURN_WINDOW_DAYS of delivery and refuses one after', async () => {
    const clock = new ManualClock();
    const { h, order } = await shippedOrder({ now: clock.now, env: { RETURN_WINDOW_DAYS: '14' } });
    expect((await h.deliver(order.shipment!.trackingNumber)).status).toBe(200);
    clock.advance(13 * DAY_MS);
    expect((await openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'in time' })).status).toBe(201);
    clock.advance(2 * DAY_MS);
    const late = await openReturn(h, order.id, { items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'late' });
    expect(late.status).toBe(409);
    expect(late.json.detail).toMatch(/return window closed/);
    expect(await sqlNumber(h.db, 'SELECT count(*) AS n FROM returns')).toBe(1);
  });

  it('refuses a return of an order that has not shipped', async () => {
    h = await Harness.start({ queues: [] });
    await h.putProduct('SKU-1', 10, 1_000);
    const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }]));
    const res = await openReturn(h, placed.id, { items: [{ sku: 'SKU-1', quantity: 1 }], reason: 'x' });
    expect(res.status).toBe(409);
  });
});
