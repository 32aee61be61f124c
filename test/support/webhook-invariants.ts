/**
 * The delivery guarantees of outbound webhooks, checked from the outside: what the receiver
 * verified and counted against what the database committed.
 * - every committed step of every order's timeline that sends an event type an endpoint subscribes
 *   to reached that endpoint at least once (derived from the timeline, not from the delivery rows
 *   the code under test wrote);
 * - nothing arrived that no committed change caused (no event for a rolled-back change);
 * - every arrival verified with `standardwebhooks`, and the copies of one event share its
 *   `webhook-id` (one id per order, type and version);
 * - every delivery's history holds its attempts numbered 1..n, n its count of attempts, and a
 *   delivered one's last attempt is the one that delivered it.
 */
import type { Db } from '../../src/db/client.ts';
import { webhookEventsOf } from '../../src/domain/webhook-events.ts';
import { sqlRows } from './store.ts';
import type { WebhookReceiver } from './webhook-receiver.ts';

export interface Subscription {
  path: string;
  events: readonly string[];
}

export async function webhookViolations(
  db: Db,
  receiver: WebhookReceiver,
  subscriptions: readonly Subscription[],
): Promise<string[]> {
  const violations: string[] = [];
  const timeline = await sqlRows<{ order_id: string; type: string }>(db, 'SELECT order_id, type FROM order_events ORDER BY id');
  const owed = new Map<string, number>();
  for (const entry of timeline) {
    for (const type of webhookEventsOf(entry.type)) {
      const key = `${entry.order_id} ${type}`;
      owed.set(key, (owed.get(key) ?? 0) + 1);
    }
  }
  for (const { path, events } of subscriptions) {
    const arrived = receiver.at(path);
    const byKey = new Map<string, Set<string>>();
    for (const r of arrived) {
      if (!r.verified) violations.push(`${path}: ${r.webhookId} did not verify`);
      const key = `${r.orderId} ${r.type}`;
      if (!owed.has(key)) violations.push(`${path}: ${r.type} of ${r.orderId} arrived, but no committed change caused it`);
      const ids = byKey.get(`${key} v${r.version}`) ?? new Set<string>();
      ids.add(r.webhookId);
      byKey.set(`${key} v${r.version}`, ids);
    }
    for (const [key, ids] of byKey) if (ids.size > 1) violations.push(`${path}: ${key} arrived under ${ids.size} webhook ids`);
    for (const [key, count] of owed) {
      const type = key.split(' ')[1]!;
      if (!events.includes(type)) continue;
      const got = new Set(arrived.filter((r) => `${r.orderId} ${r.type}` === key).map((r) => r.webhookId)).size;
      if (got < count) violations.push(`${path}: ${key} committed ${count} time(s), ${got} arrived`);
    }
  }
  violations.push(...(await historyViolations(db)));
  return violations;
}

async function historyViolations(db: Db): Promise<string[]> {
  const deliveries = await sqlRows<{ id: string; status: string; attempts: number }>(
    db,
    'SELECT id, status, attempts FROM webhook_deliveries',
  );
  const attempts = await sqlRows<{ delivery_id: string; number: number; outcome: string }>(
    db,
    'SELECT delivery_id, number, outcome FROM webhook_attempts ORDER BY delivery_id, number',
  );
  const byDelivery = new Map<string, { number: number; outcome: string }[]>();
  for (const a of attempts)
    byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), { ...a, number: Number(a.number) }]);
  const violations: string[] = [];
  for (const d of deliveries) {
    const history = byDelivery.get(d.id) ?? [];
    const numbers = history.map((a) => a.number).join(',');
    const expected = Array.from({ length: Number(d.attempts) }, (_, i) => i + 1).join(',');
    if (numbers !== expected) violations.push(`delivery ${d.id}: ${d.attempts} attempts, history numbered [${numbers}]`);
    if (d.status === 'DELIVERED' && history.at(-1)?.outcome !== 'delivered')
      violations.push(`delivery ${d.id}: delivered, but its last attempt says ${history.at(-1)?.outcome ?? 'nothing'}`);
  }
  return violations;
}

/** How many deliveries are still pending. */
export async function pendingDeliveries(db: Db): Promise<number> {
  const [row] = await sqlRows<{ n: number }>(db, "SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'PENDING'");
  return Number(row?.n ?? 0);
}
