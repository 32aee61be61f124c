/**
 * The invariants of DESIGN.md, checked over every order against the sandbox's own ledgers.
 * Returns the list of violations (empty when all hold), so a failing test shows them all.
 */
import type { Db } from '../../src/db/client.ts';
import { moneyBackViolations, productCounts, productCountViolations } from './money-back-invariants.ts';
import { sqlRows } from './store.ts';
import { SUBJECT_NOTIFICATION_KINDS } from '../../src/domain/events.ts';
import {
  INITIAL_STATUS,
  owedNotifications,
  waitsOnService,
  endedUnfulfilled,
  type OrderStatus,
} from '../../src/domain/order-machine.ts';

export interface InvariantOptions {
  /** Units of each SKU put up for sale (the sum of PUT stock when products are set once). */
  initialStock: Record<string, number>;
}

export async function invariantViolations(db: Db, options: InvariantOptions): Promise<string[]> {
  const problems: string[] = [];

  const orders = (await sqlRows(
    db,
    'SELECT id, status, payment_status AS payment, stock_status AS stock, total_cents AS total FROM orders',
  )) as { id: string; status: OrderStatus; payment: string; stock: string; total: number }[];
  const charges = groupBy(
    (await sqlRows(db, 'SELECT order_id AS "orderId", amount_cents AS amount FROM sandbox_charges')) as {
      orderId: string;
      amount: number;
    }[],
  );
  const refunds = groupBy(
    (await sqlRows(db, 'SELECT order_id AS "orderId", amount_cents AS amount FROM sandbox_refunds')) as {
      orderId: string;
      amount: number;
    }[],
  );

  for (const o of orders) {
    if (waitsOnService(o.status)) problems.push(`${o.id} stuck in ${o.status}`);
    const c = charges.get(o.id) ?? [];
    const r = refunds.get(o.id) ?? [];
    if (c.length > 1) problems.push(`${o.id} charged ${c.length} times`);
    if (c.length === 1 && c[0]!.amount !== o.total) problems.push(`${o.id} charged ${c[0]!.amount}, total ${o.total}`);
    const ended = endedUnfulfilled(o.status);
    // Refunds of part of an order come on top (money-back-invariants.ts checks them against their rows).
    const back = r.reduce((sum, x) => sum + Number(x.amount), 0);
    if (ended && c.length === 1 && back !== Number(o.total)) {
      problems.push(`${o.id} ${o.status} after a capture with ${back} of ${o.total} refunded in ${r.length} refunds`);
    }
    if (c.length === 0 && r.length > 0) problems.push(`${o.id} refunded without a charge`);
    if (ended && (o.payment === 'PENDING' || o.payment === 'REFUND_PENDING')) {
      problems.push(`${o.id} rests ${o.status} with payment ${o.payment}`);
    }
    if (ended && o.stock === 'RESERVED') problems.push(`${o.id} rests ${o.status} holding stock`);
    if (o.payment === 'CAPTURED' && c.length !== 1) problems.push(`${o.id} CAPTURED with ${c.length} charges`);
    if (o.payment === 'REFUNDED' && back !== Number(o.total))
      problems.push(`${o.id} REFUNDED with ${back} of ${o.total} refunded`);
  }

  const dupes = (await sqlRows(
    db,
    `SELECT order_id AS id, kind, count(*) AS n FROM sandbox_notifications
       WHERE kind NOT IN (${SUBJECT_NOTIFICATION_KINDS.map((k) => `'${k}'`).join(', ')})
       GROUP BY order_id, kind HAVING count(*) > 1`,
  )) as { id: string; kind: string; n: number }[];
  for (const d of dupes) problems.push(`${d.id} notified ${d.kind} ${d.n} times`);
  // A message recorded as sent is in the ledger, whatever its channel, unless the mail server
  // refused it for good, which the order's timeline then says.
  const refused = new Set(
    (
      (await sqlRows(db, `SELECT order_id AS id, data FROM order_events WHERE type = 'NotificationRefused'`)) as {
        id: string;
        data: string | { kind: string };
      }[]
    ).map((e) => `${e.id}/${(typeof e.data === 'string' ? JSON.parse(e.data) : e.data).kind}`),
  );
  const unrecorded = (
    (await sqlRows(
      db,
      `SELECT s.order_id AS id, s.kind FROM sent_notifications s
       WHERE s.subject = '' AND NOT EXISTS (SELECT 1 FROM sandbox_notifications n WHERE n.order_id = s.order_id AND n.kind = s.kind)`,
    )) as { id: string; kind: string }[]
  ).filter((u) => !refused.has(`${u.id}/${u.kind}`));
  for (const u of unrecorded) problems.push(`${u.id} recorded ${u.kind} as sent, but neither the ledger nor a refusal shows it`);

  const products = await productCounts(db);
  problems.push(...productCountViolations(products, options.initialStock));
  const heldBy = (await sqlRows(
    db,
    `SELECT i.sku, sum(i.quantity) AS q FROM order_items i JOIN orders o ON o.id = i.order_id
       WHERE o.stock_status = 'RESERVED' GROUP BY i.sku`,
  )) as { sku: string; q: number }[];
  for (const h of heldBy) {
    const p = products.find((x) => x.sku === h.sku);
    if (p && p.reserved !== h.q) problems.push(`${h.sku} reserved ${p.reserved} but orders hold ${h.q}`);
  }

  problems.push(...(await timelineViolations(db)), ...(await unsentNotifications(db)), ...(await moneyBackViolations(db)));
  return problems;
}

/** Each order's timeline starts at CREATED and every entry leaves from where the last arrived. */
async function timelineViolations(db: Db): Promise<string[]> {
  const rows = (await sqlRows(
    db,
    'SELECT order_id AS id, type, from_status AS "from", to_status AS "to" FROM order_events e ORDER BY e.order_id, e.id',
  )) as { id: string; type: string; from: string | null; to: string }[];
  const problems: string[] = [];
  let current: string | undefined;
  let at: string | null = null;
  for (const row of rows) {
    if (row.id !== current) {
      current = row.id;
      if (row.from !== null || row.to !== INITIAL_STATUS) problems.push(`${row.id} timeline starts with ${row.type}`);
    } else if (row.from !== at) {
      problems.push(`${row.id} timeline jumps: ${row.type} from ${row.from} after reaching ${at}`);
    }
    at = row.to;
  }
  const statuses = (await sqlRows(
    db,
    `SELECT o.id, o.status, (SELECT to_status FROM order_events e WHERE e.order_id = o.id ORDER BY e.id DESC LIMIT 1) AS last
       FROM orders o`,
  )) as { id: string; status: string; last: string }[];
  for (const s of statuses) if (s.status !== s.last) problems.push(`${s.id} is ${s.status} but its timeline ends at ${s.last}`);
  return problems;
}

/** Every order at rest has had each message its state owes the customer. */
export async function unsentNotifications(db: Db): Promise<string[]> {
  const orders = (await sqlRows(
    db,
    'SELECT id, status, payment_status AS "paymentStatus", stock_status AS "stockStatus", reason FROM orders',
  )) as (Parameters<typeof owedNotifications>[0] & { id: string })[];
  const sent = new Set(
    (
      (await sqlRows(db, `SELECT order_id AS id, kind FROM sent_notifications WHERE subject = ''`)) as {
        id: string;
        kind: string;
      }[]
    ).map((r) => `${r.id}/${r.kind}`),
  );
  const problems: string[] = [];
  for (const order of orders) {
    for (const kind of owedNotifications(order)) {
      if (!sent.has(`${order.id}/${kind}`)) problems.push(`${order.id} ${order.status} was never sent ${kind}`);
    }
  }
  return problems;
}

function groupBy<T extends { orderId: string }>(rows: T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) map.set(row.orderId, [...(map.get(row.orderId) ?? []), row]);
  return map;
}
