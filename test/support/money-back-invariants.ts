/**
 * The invariants of refunds and returns, checked over every order against the sandbox gateway's
 * own ledger and the catalog's counts:
 * - an order's refunds add up to its running total and never pass its capture;
 * - the gateway refunded each settled refund once, under its id, for its amount, and nothing else;
 * - the payment status says what the settled refunds add up to;
 * - no return claims more units than shipped; the units received went back on sale once each
 *   (`returned` per SKU is what received returns hold, and `shipped` what left and did not come back);
 * - every message about a refund or a return that its state owes was sent, once.
 */
import type { Db } from '../../src/db/client.ts';
import {
  CLAIMING_RETURN_STATUSES,
  owedReturnMessages,
  RESTOCKED_RETURN_STATUSES,
  type ReturnStatus,
} from '../../src/domain/return-machine.ts';
import { sqlRows } from './store.ts';

const num = (v: unknown) => Number(v ?? 0);

export async function moneyBackViolations(db: Db): Promise<string[]> {
  const problems: string[] = [];
  const orders = (await sqlRows(
    db,
    `SELECT id, status, payment_status AS payment, stock_status AS stock, total_cents AS total,
            refunded_cents AS refunded, charge_id AS "chargeId" FROM orders`,
  )) as {
    id: string;
    status: string;
    payment: string;
    stock: string;
    total: number;
    refunded: number;
    chargeId: string | null;
  }[];
  const refunds = (await sqlRows(
    db,
    'SELECT id, order_id AS "orderId", amount_cents AS amount, status, return_id AS "returnId" FROM refunds',
  )) as { id: string; orderId: string; amount: number; status: string; returnId: string | null }[];
  const ledger = (await sqlRows(
    db,
    'SELECT idempotency_key AS key, order_id AS "orderId", amount_cents AS amount FROM sandbox_refunds',
  )) as { key: string; orderId: string; amount: number }[];
  const byKey = new Map<string, typeof ledger>();
  for (const l of ledger) byKey.set(l.key, [...(byKey.get(l.key) ?? []), l]);
  const refundIds = new Set(refunds.map((r) => r.id));

  for (const o of orders) {
    const mine = refunds.filter((r) => r.orderId === o.id);
    const sum = mine.reduce((s, r) => s + num(r.amount), 0);
    const settled = mine.filter((r) => r.status === 'SUCCEEDED').reduce((s, r) => s + num(r.amount), 0);
    const captured = o.chargeId ? num(o.total) : 0;
    if (sum !== num(o.refunded)) problems.push(`${o.id} refunds add up to ${sum}, its running total says ${o.refunded}`);
    if (sum > captured) problems.push(`${o.id} refunds ${sum} of a capture of ${captured}`);
    const gateway = ledger.filter((l) => l.orderId === o.id).reduce((s, l) => s + num(l.amount), 0);
    if (gateway > captured) problems.push(`${o.id} gateway refunded ${gateway} of a capture of ${captured}`);
    if (o.payment === 'REFUNDED' && settled !== num(o.total))
      problems.push(`${o.id} REFUNDED with ${settled} of ${o.total} back`);
    if (o.payment === 'PARTIALLY_REFUNDED' && !(settled > 0 && settled < num(o.total))) {
      problems.push(`${o.id} PARTIALLY_REFUNDED with ${settled} of ${o.total} back`);
    }
    const pending = mine.filter((r) => r.status === 'PENDING').length;
    if (pending > 0 && o.payment !== 'REFUND_PENDING')
      problems.push(`${o.id} has ${pending} refunds pending, payment ${o.payment}`);
  }
  for (const r of refunds) {
    const made = byKey.get(r.id) ?? [];
    if (r.status === 'SUCCEEDED' && made.length !== 1)
      problems.push(`refund ${r.id} settled with ${made.length} gateway refunds`);
    if (made.length > 1) problems.push(`refund ${r.id} refunded ${made.length} times at the gateway`);
    for (const m of made)
      if (num(m.amount) !== num(r.amount)) problems.push(`refund ${r.id} of ${r.amount} refunded ${m.amount} at the gateway`);
  }
  for (const l of ledger) {
    if (!refundIds.has(l.key)) problems.push(`gateway refund ${l.key} of ${l.orderId} matches no refund`);
  }

  problems.push(...(await returnViolations(db, orders)), ...(await subjectMessageViolations(db)));
  return problems;
}

/** The returns' invariants alone, true at every moment (not only at rest): a test checks them between steps. */
export async function stockViolationsNow(db: Db, initialStock: Record<string, number>): Promise<string[]> {
  const orders = (await sqlRows(db, 'SELECT id, stock_status AS stock FROM orders')) as { id: string; stock: string }[];
  return [...(await returnViolations(db, orders)), ...productCountViolations(await productCounts(db), initialStock)];
}

export interface ProductCounts {
  sku: string;
  available: number;
  reserved: number;
  shipped: number;
}

/** Every product's counts, as numbers on either engine. */
export async function productCounts(db: Db): Promise<ProductCounts[]> {
  const rows = (await sqlRows(db, 'SELECT sku, available, reserved, shipped FROM products')) as ProductCounts[];
  return rows.map((r) => ({ sku: r.sku, available: num(r.available), reserved: num(r.reserved), shipped: num(r.shipped) }));
}

/** No count below zero, and `initial = available + reserved + shipped` for every SKU given: true at every moment. */
export function productCountViolations(products: readonly ProductCounts[], initialStock: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const p of products) {
    if (p.available < 0 || p.reserved < 0 || p.shipped < 0) problems.push(`${p.sku} has a negative count ${JSON.stringify(p)}`);
    const initial = initialStock[p.sku];
    if (initial !== undefined && p.available + p.reserved + p.shipped !== initial) {
      problems.push(`${p.sku} not conserved: ${JSON.stringify(p)} from ${initial}`);
    }
  }
  return problems;
}

async function returnViolations(db: Db, orders: { id: string; stock: string }[]): Promise<string[]> {
  const problems: string[] = [];
  const lines = (await sqlRows(
    db,
    `SELECT r.id, r.order_id AS "orderId", r.status, i.sku, i.quantity FROM returns r JOIN return_items i ON i.return_id = r.id`,
  )) as { id: string; orderId: string; status: ReturnStatus; sku: string; quantity: number }[];
  const items = (await sqlRows(db, 'SELECT order_id AS "orderId", sku, quantity FROM order_items')) as {
    orderId: string;
    sku: string;
    quantity: number;
  }[];
  const shippedOrders = new Set(orders.filter((o) => o.stock === 'SHIPPED').map((o) => o.id));
  const key = (a: string, b: string) => `${a}/${b}`;
  const shippedBy = new Map<string, number>();
  const shippedSku = new Map<string, number>();
  for (const i of items) {
    if (!shippedOrders.has(i.orderId)) continue;
    shippedBy.set(key(i.orderId, i.sku), (shippedBy.get(key(i.orderId, i.sku)) ?? 0) + num(i.quantity));
    shippedSku.set(i.sku, (shippedSku.get(i.sku) ?? 0) + num(i.quantity));
  }
  const claimed = new Map<string, number>();
  const returnedSku = new Map<string, number>();
  for (const l of lines) {
    if (CLAIMING_RETURN_STATUSES.includes(l.status))
      claimed.set(key(l.orderId, l.sku), (claimed.get(key(l.orderId, l.sku)) ?? 0) + num(l.quantity));
    if (RESTOCKED_RETURN_STATUSES.includes(l.status)) returnedSku.set(l.sku, (returnedSku.get(l.sku) ?? 0) + num(l.quantity));
  }
  for (const [k, q] of claimed) {
    const shipped = shippedBy.get(k) ?? 0;
    if (q > shipped) problems.push(`${k}: returns claim ${q}, ${shipped} shipped`);
  }
  const products = (await sqlRows(db, 'SELECT sku, shipped, returned FROM products')) as {
    sku: string;
    shipped: number;
    returned: number;
  }[];
  for (const p of products) {
    const back = returnedSku.get(p.sku) ?? 0;
    if (num(p.returned) !== back) problems.push(`${p.sku} counts ${p.returned} returned, received returns hold ${back}`);
    const out = (shippedSku.get(p.sku) ?? 0) - back;
    if (num(p.shipped) !== out)
      problems.push(`${p.sku} counts ${p.shipped} shipped, orders shipped ${out} that did not come back`);
  }
  const receipts = (await sqlRows(db, `SELECT order_id AS "orderId", data FROM order_events WHERE type = 'ReturnReceived'`)) as {
    orderId: string;
    data: string | { returnId: string };
  }[];
  const seen = new Set<string>();
  for (const r of receipts) {
    const id = (typeof r.data === 'string' ? JSON.parse(r.data) : r.data).returnId;
    if (seen.has(id)) problems.push(`return ${id} received twice on ${r.orderId}'s timeline`);
    seen.add(id);
  }
  const statuses = new Map(lines.map((l) => [l.id, l.status]));
  for (const id of seen)
    if (!RESTOCKED_RETURN_STATUSES.includes(statuses.get(id)!)) problems.push(`return ${id} received but ${statuses.get(id)}`);
  return problems;
}

/** Each message about a refund or a return that its state owes was sent, and each went out once. */
async function subjectMessageViolations(db: Db): Promise<string[]> {
  const problems: string[] = [];
  const sent = (await sqlRows(db, `SELECT order_id AS "orderId", kind, subject FROM sent_notifications WHERE subject <> ''`)) as {
    orderId: string;
    kind: string;
    subject: string;
  }[];
  const sentKeys = new Set(sent.map((s) => `${s.subject}-${s.kind}`));
  const owed = [
    ...((await sqlRows(db, `SELECT id FROM refunds WHERE status = 'SUCCEEDED'`)) as { id: string }[]).map(
      (r) => `${r.id}-refunded`,
    ),
    ...((await sqlRows(db, 'SELECT id, status FROM returns')) as { id: string; status: ReturnStatus }[]).flatMap((r) =>
      owedReturnMessages(r.status).map((kind) => `${r.id}-${kind}`),
    ),
  ];
  for (const key of owed) if (!sentKeys.has(key)) problems.push(`message ${key} never sent`);
  const ledger = new Set(
    ((await sqlRows(db, 'SELECT idempotency_key AS key FROM sandbox_notifications')) as { key: string }[]).map((r) => r.key),
  );
  for (const key of sentKeys) if (!ledger.has(key)) problems.push(`message ${key} recorded as sent, not in the ledger`);
  return problems;
}
