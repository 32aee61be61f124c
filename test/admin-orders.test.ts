/**
 * GET /admin/orders: orders newest first, filtered by status, customer and stuckness, a page at a
 * time with a cursor that later orders never shift; a bad query is a 400 naming the field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTx } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { FEW_IN_STATUS, listOrders } from '../src/db/order-list.ts';
import { ADMIN_TOKEN, Harness, orderBody, type OrderJson } from './support/harness.ts';
import { openTestStore, sqlNumber, sqlRun } from './support/store.ts';

let h: Harness;

beforeAll(async () => {
  // No workers: every order stays where the test puts it.
  h = await Harness.start({ queues: [] });
  await h.putProduct('SKU-1', 10_000);
});

afterAll(async () => {
  await h?.stop();
});

async function place(customerId: string): Promise<OrderJson> {
  return h.placeOrder(orderBody('tok_visa', [{ sku: 'SKU-1', quantity: 1 }], customerId));
}

async function list(query: string) {
  const res = await h.admin('GET', `/orders${query}`);
  expect(res.status, res.text).toBe(200);
  return res.json as { orders: OrderJson[]; nextCursor: string | null };
}

/** Makes an order, and the events it wrote, look as if it had not moved for `ms`. */
async function stillFor(id: string, ms: number) {
  const then = Date.now() - ms;
  await sqlRun(h.db, 'UPDATE orders SET updated_at = ? WHERE id = ?', then, id);
  await sqlRun(h.db, 'UPDATE outbox SET created_at = ? WHERE order_id = ?', then, id);
}

async function relayed(orderIds: string[]) {
  const pending = (id: string) =>
    sqlNumber(h.db, 'SELECT count(*) AS n FROM outbox WHERE order_id = ? AND dispatched_at IS NULL', id);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const counts = await Promise.all(orderIds.map(pending));
    if (counts.every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error('the relay did not send the orders’ events');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ids = (orders: { id: string }[]) => orders.map((o) => o.id);
const newestFirst = (list: string[]) => [...list].sort().reverse();

describe('GET /admin/orders', () => {
  it('pages through every order newest first, and orders placed meanwhile do not shift the pages', async () => {
    const customer = `cus_paging_${Date.now()}`;
    const placed: string[] = [];
    for (let i = 0; i < 7; i++) placed.push((await place(customer)).id);

    const first = await list(`?customerId=${customer}&limit=3`);
    expect(ids(first.orders)).toEqual(newestFirst(placed).slice(0, 3));
    expect(first.nextCursor).toBe(first.orders[2]!.id);

    // New orders arrive between two page reads.
    const later = [(await place(customer)).id, (await place(customer)).id];

    const second = await list(`?customerId=${customer}&limit=3&cursor=${first.nextCursor}`);
    expect(ids(second.orders)).toEqual(newestFirst(placed).slice(3, 6));
    const third = await list(`?customerId=${customer}&limit=3&cursor=${second.nextCursor}`);
    expect(ids(third.orders)).toEqual(newestFirst(placed).slice(6));
    expect(third.nextCursor).toBeNull();

    // A fresh first page starts with them.
    expect(ids((await list(`?customerId=${customer}&limit=2`)).orders)).toEqual(newestFirst(later));
  });

  it('answers order views, with their items, and at most `limit` of them (50 by default)', async () => {
    const customer = `cus_view_${Date.now()}`;
    const order = await place(customer);
    const page = await list(`?customerId=${customer}`);
    expect(page.orders).toEqual([await h.getOrder(order.id)]);
    expect(page.orders[0]!.items).toEqual([{ sku: 'SKU-1', quantity: 1, unitPriceCents: 1_000 }]);

    for (let i = 0; i < 51; i++) await place('cus_many');
    expect((await list('')).orders).toHaveLength(50);
    expect((await list('?limit=200')).orders.length).toBeGreaterThan(51);
  });

  it('filters by status and by customer, together or apart', async () => {
    const [a1, a2, b1] = [await place('cus_filter_a'), await place('cus_filter_a'), await place('cus_filter_b')];
    expect((await h.request('POST', `/orders/${a2.id}/cancel`)).status).toBe(200);
    expect((await h.request('POST', `/orders/${b1.id}/cancel`)).status).toBe(200);

    expect(ids((await list('?customerId=cus_filter_a')).orders)).toEqual([a2.id, a1.id]);
    expect(ids((await list('?customerId=cus_filter_a&status=CANCELLED')).orders)).toEqual([a2.id]);
    expect(ids((await list('?customerId=cus_filter_a&status=CREATED')).orders)).toEqual([a1.id]);
    const cancelled = (await list('?status=CANCELLED&limit=200')).orders;
    expect(cancelled.every((o) => o.status === 'CANCELLED')).toBe(true);
    expect(ids(cancelled)).toEqual(expect.arrayContaining([a2.id, b1.id]));
    expect((await list('?customerId=cus_nobody')).orders).toEqual([]);
  });

  it('with stuck=true, lists the orders not at rest that have not moved for STUCK_AFTER_MS, as the reconciler sees them', async () => {
    const stuckAfterMs = h.config.jobs.stuckAfterMs;
    const customer = `cus_stuck_${Date.now()}`;
    const [old, fresh, ended] = [await place(customer), await place(customer), await place(customer)];
    expect((await h.request('POST', `/orders/${ended.id}/cancel`)).status).toBe(200);
    await stillFor(old.id, stuckAfterMs + 5_000);
    await stillFor(ended.id, stuckAfterMs + 5_000);

    // The old CREATED order is stuck; the fresh one is moving, the cancelled one is at rest.
    expect(ids((await list(`?customerId=${customer}&stuck=true`)).orders)).toEqual([old.id]);
    expect(ids((await list(`?customerId=${customer}&stuck=false`)).orders)).toHaveLength(3);

    // The reconciler agrees (once the relay has sent what they wrote, which is otherwise "on its
    // way"): it re-drives the stuck order, not the fresh one; the cancelled one at most for the
    // message it is owed, as an order at rest.
    await relayed([old.id, fresh.id, ended.id]);
    const redriven = await h.reconcile();
    expect(redriven.find((r) => r.orderId === old.id)?.events).toEqual(['OrderPlaced']);
    expect(redriven.map((r) => r.orderId)).not.toContain(fresh.id);
    expect(redriven.find((r) => r.orderId === ended.id)?.events ?? []).toEqual(expect.not.arrayContaining(['OrderPlaced']));
    // Re-driven, it is still stuck until it moves.
    expect(ids((await list(`?customerId=${customer}&stuck=true`)).orders)).toEqual([old.id]);
  });

  it.each([
    ['status', '?status=LOST'],
    ['status', '?status=created'],
    ['limit', '?limit=0'],
    ['limit', '?limit=201'],
    ['limit', '?limit=ten'],
    ['limit', '?limit=2.5'],
    ['cursor', '?cursor=42'],
    ['cursor', '?cursor=ord_not-an-id'],
    ['stuck', '?stuck=yes'],
    ['customerId', `?customerId=${'x'.repeat(101)}`],
    ['sort', '?sort=asc'],
  ])('refuses a bad %s (%s) with a 400 problem naming it', async (field, query) => {
    const res = await h.admin('GET', `/orders${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expect(res.json.detail).toContain(field);
  });

  it('needs the admin token', async () => {
    const missing = await h.request('GET', '/admin/orders');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const wrong = await h.request('GET', '/admin/orders', undefined, { authorization: 'Bearer not-the-admin-token' });
    expect(wrong.status).toBe(401);
    const basic = await h.request('GET', '/admin/orders?limit=1', undefined, {
      authorization: `Basic ${Buffer.from(`ops:${ADMIN_TOKEN}`).toString('base64')}`,
    });
    expect(basic.status).toBe(200);
  });

  it('is declared in the OpenAPI document with its query and the admin security', async () => {
    const doc = (await h.request('GET', '/openapi.json')).json;
    const op = doc.paths['/admin/orders'].get;
    expect(op.operationId).toBe('listOrders');
    expect(op.description).toContain('stable');
    expect(op.security).toEqual([{ adminToken: [] }, { adminBasic: [] }]);
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'cursor',
      'customerId',
      'limit',
      'status',
      'stuck',
    ]);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401']);
    expect(doc.components.schemas.OrderList.properties.nextCursor).toBeDefined();
  });
});

describe('listOrders on a large table', () => {
  it('pages a status that holds many orders (walked by id) the same as one that holds few (read by status)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-list-'));
    const db = await openTestStore(dir);
    const { orders } = db.tables;
    const start = Date.now() - 1_000_000;
    const byStatus: Record<string, string[]> = { COMPLETED: [], FAILED: [] };
    const rows: (typeof orders.$inferInsert)[] = [];
    for (let i = 0; i < FEW_IN_STATUS + 500; i++) {
      const status = i % 50 === 0 ? 'FAILED' : 'COMPLETED';
      const id = `ord_${ulid(start + i)}`;
      rows.push({
        id,
        status,
        paymentStatus: 'CAPTURED',
        stockStatus: 'NONE',
        customerId: 'cus_1',
        totalCents: 100,
        currency: 'USD',
        paymentToken: 'tok',
        shippingAddress: {} as (typeof orders.$inferInsert)['shippingAddress'],
        createdAt: start + i,
        updatedAt: start + i,
      });
      byStatus[status]!.push(id);
    }
    await writeTx(db, async (tx) => {
      for (let i = 0; i < rows.length; i += 500) await tx.insert(orders).values(rows.slice(i, i + 500));
    });
    expect(byStatus.COMPLETED!.length).toBeGreaterThan(FEW_IN_STATUS);

    for (const status of ['COMPLETED', 'FAILED'] as const) {
      const seen: string[] = [];
      let before: string | undefined;
      for (let pages = 0; pages < 3; pages++) {
        const page = await listOrders(db, { status, limit: 70, ...(before ? { before } : {}) });
        seen.push(...page.orders.map((o) => o.id));
        before = page.nextBefore ?? undefined;
      }
      expect(seen).toEqual(newestFirst(byStatus[status]!).slice(0, 210));
    }
    await closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  });
});
