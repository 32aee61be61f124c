/**
 * The console's refunds and returns: the order's page shows them with their state and offers
 * refund, receive and reject; each action follows the API's rules and goes on the order's
 * timeline as an operator action by the admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorActionsOf } from '../src/db/operator-actions.ts';
import { ADMIN_TOKEN, Harness, orderBody, type OrderJson } from './support/harness.ts';
import { invariantViolations } from './support/invariants.ts';

const BASIC = `Basic ${Buffer.from(`operator:${ADMIN_TOKEN}`).toString('base64')}`;

let h: Harness;
let order: OrderJson;

beforeAll(async () => {
  h = await Harness.start();
  await h.putProduct('SKU-1', 10, 1_000);
  const placed = await h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 3 }], 'cus_console'));
  order = await h.waitForStatus(placed.id, 'SHIPPED');
});

afterAll(async () => {
  await h?.stop();
});

function post(path: string, fields: Record<string, string> = {}) {
  return fetch(`${h.base}${path}`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: BASIC },
  });
}

const pageOf = async (id: string) =>
  (await fetch(`${h.base}/admin/console/orders/${id}`, { headers: { authorization: BASIC } })).text();

describe('refunds and returns on the console', () => {
  it('refunds part of the order from its page, and refuses more than is left', async () => {
    const page = await pageOf(order.id);
    expect(page).toContain('No refund.');
    expect(page).toMatch(/At most 30\.00 USD is left to refund/);
    const res = await post(`/admin/console/orders/${order.id}/refund`, { amountCents: '500', reason: 'Goodwill' });
    expect(res.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=refund-requested`);
    const refused = await post(`/admin/console/orders/${order.id}/refund`, { amountCents: '2600', reason: 'Too much' });
    expect(refused.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=refund-refused`);
    const invalid = await post(`/admin/console/orders/${order.id}/refund`, { amountCents: 'ten', reason: 'x' });
    expect(invalid.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=refund-invalid`);
    await h.waitForOrder(order.id, (o) => o.payment.status === 'PARTIALLY_REFUNDED');
    const after = await pageOf(order.id);
    expect(after).toMatch(/5\.00 USD<\/td><td><span class="badge[^"]*">SUCCEEDED/);
    expect(after).toContain('Goodwill');
  });

  it('receives and rejects returns from the order’s page, each on its timeline', async () => {
    const opened = await h.request('POST', `/orders/${order.id}/returns`, {
      items: [{ sku: 'SKU-1', quantity: 1 }],
      reason: 'Too big',
    });
    const other = await h.request('POST', `/orders/${order.id}/returns`, {
      items: [{ sku: 'SKU-1', quantity: 1 }],
      reason: 'Meh',
    });
    const page = await pageOf(order.id);
    expect(page).toContain(opened.json.id);
    expect(page).toContain(`/returns/${opened.json.id}/receive`);

    const received = await post(`/admin/console/orders/${order.id}/returns/${opened.json.id}/receive`);
    expect(received.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=return-received`);
    const twice = await post(`/admin/console/orders/${order.id}/returns/${opened.json.id}/receive`);
    expect(twice.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=return-already-received`);
    const rejected = await post(`/admin/console/orders/${order.id}/returns/${other.json.id}/reject`);
    expect(rejected.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=return-rejected`);
    const late = await post(`/admin/console/orders/${order.id}/returns/${other.json.id}/receive`);
    expect(late.headers.get('location')).toBe(`/admin/console/orders/${order.id}?done=return-step-refused`);
    expect((await post(`/admin/console/orders/${order.id}/returns/rt_nope/receive`)).status).toBe(404);

    const actions = (await operatorActionsOf(h.db, order.id)).map((a) => [a.action, a.actor, a.outcome]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['refund', 'admin', 'refund-requested'],
        ['receive-return', 'admin', 'return-received'],
        ['receive-return', 'admin', 'return-already-received'],
        ['reject-return', 'admin', 'return-rejected'],
      ]),
    );
    await h.settle();
    const after = await pageOf(order.id);
    expect(after).toMatch(/REFUNDED/);
    expect(after).toMatch(/Operator receive-return/);
    expect(await invariantViolations(h.db, { initialStock: { 'SKU-1': 10 } })).toEqual([]);
  });
});
