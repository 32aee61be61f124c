/**
 * The webhook events an order's change causes, written by the change's own transaction: one event
 * row per type the step sends (domain/webhook-events.ts), one delivery row per enabled endpoint
 * subscribed to it, and an outbox row (`WebhooksDue`) so that the relay hands the deliveries to the
 * webhook queue. An event is thus sent if and only if its change committed. When no endpoint
 * subscribes, nothing is planned and the change writes what it always did.
 *
 * On SQLite the rows are written here, a statement each; on PostgreSQL they join the change's one
 * statement (engines/postgres-writes.ts `webhookCtes`).
 */
import { and, eq, inArray } from 'drizzle-orm';
import { ulid } from 'ulid';
import { webhookEventsOf } from '../domain/webhook-events.ts';
import type { Tx } from './client.ts';
import type { OrderRow } from './schema.ts';
import type { OrderSnapshot } from './tables/webhooks/values.ts';
import { subscribers } from './webhook-subscribers.ts';

/** What a change writes for webhooks: its events and, per subscribed endpoint, a delivery. */
export interface PlannedWebhooks {
  events: { id: string; type: string }[];
  deliveries: { id: string; eventId: string; endpointId: string }[];
  orderVersion: number;
  snapshot: OrderSnapshot;
}

/** The events and deliveries `step` causes for `order` (after the change), or none. */
export async function planWebhooks(tx: Tx, step: string, order: OrderRow, now: number): Promise<PlannedWebhooks | undefined> {
  const types = webhookEventsOf(step);
  if (types.length === 0) return undefined;
  const listening = await subscribers(tx);
  if (listening.length === 0) return undefined;
  const events: PlannedWebhooks['events'] = [];
  const deliveries: PlannedWebhooks['deliveries'] = [];
  for (const type of types) {
    const endpoints = listening.filter((s) => s.events.has(type));
    if (endpoints.length === 0) continue;
    const eventId = `msg_${ulid(now)}`;
    events.push({ id: eventId, type });
    for (const endpoint of endpoints) deliveries.push({ id: `dlv_${ulid(now)}`, eventId, endpointId: endpoint.id });
  }
  if (events.length === 0) return undefined;
  return { events, deliveries, orderVersion: order.version, snapshot: snapshotOf(order) };
}

/** The order as its events show it: its row without what stays inside. */
export function snapshotOf(order: OrderRow): OrderSnapshot {
  return {
    id: order.id,
    status: order.status,
    paymentStatus: order.paymentStatus,
    reason: order.reason,
    customerId: order.customerId,
    email: order.email,
    totalCents: order.totalCents,
    currency: order.currency,
    trackingNumber: order.trackingNumber,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/**
 * Writes the planned rows on SQLite (PostgreSQL writes them in the change's statement). Only
 * endpoints still enabled now get a delivery: the plan may come from a list a moment old.
 */
export async function writeWebhooks(tx: Tx, orderId: string, planned: PlannedWebhooks, now: number): Promise<void> {
  const { webhookEvents, webhookDeliveries, webhookEndpoints } = tx.tables;
  const endpointIds = [...new Set(planned.deliveries.map((d) => d.endpointId))];
  const enabled = new Set(
    (
      await tx
        .select({ id: webhookEndpoints.id })
        .from(webhookEndpoints)
        .where(and(inArray(webhookEndpoints.id, endpointIds), eq(webhookEndpoints.enabled, true)))
    ).map((r) => r.id),
  );
  await tx.insert(webhookEvents).values(
    planned.events.map((e) => ({
      id: e.id,
      orderId,
      type: e.type,
      orderVersion: planned.orderVersion,
      occurredAt: now,
      snapshot: planned.snapshot,
    })),
  );
  const rows = planned.deliveries
    .filter((d) => enabled.has(d.endpointId))
    .map((d) => ({
      ...d,
      orderId,
      status: 'PENDING' as const,
      attempts: 0,
      nextAttemptAt: now,
      windowStart: now,
      createdAt: now,
    }));
  if (rows.length > 0) await tx.insert(webhookDeliveries).values(rows);
}
